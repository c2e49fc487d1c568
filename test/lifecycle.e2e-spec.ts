import net from 'node:net';

import { SseModule, type SseModuleExtras, type SseModuleOptions, SseService } from '@nest-sse/server';
import {
  SSE_LIFECYCLE_EVENTS,
  SseBridgeModule,
  type SseBridgeOptions,
  type SseConnectedEvent,
  type SseDisconnectedEvent,
  type SseUserPresenceEvent,
} from '@nest-sse/server/bridge';
import { Injectable, type LoggerService, Module, type Provider } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';

import { ConditionWaiter } from './support/condition-waiter.js';
import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { openRaw, sleep, StreamClient, waitForCount } from './support/sse-client.js';

/** How long a "does not happen" check waits: far past the microtask the bridge emits in. */
const QUIET_MS = 300;
const KB = 'x'.repeat(1000);

type Recorded =
  | { name: 'connected'; payload: SseConnectedEvent }
  | { name: 'disconnected'; payload: SseDisconnectedEvent }
  | { name: 'online' | 'offline'; payload: SseUserPresenceEvent };

/** The app's own listeners, as domain code writes them: `@OnEvent()` with the exported names. */
@Injectable()
class LifecycleRecorder {
  readonly events: Recorded[] = [];
  private readonly changes = new ConditionWaiter();

  @OnEvent(SSE_LIFECYCLE_EVENTS.connected)
  connected(payload: SseConnectedEvent): void {
    this.record({ name: 'connected', payload });
  }

  @OnEvent(SSE_LIFECYCLE_EVENTS.disconnected)
  disconnected(payload: SseDisconnectedEvent): void {
    this.record({ name: 'disconnected', payload });
  }

  @OnEvent(SSE_LIFECYCLE_EVENTS.userOnline)
  online(payload: SseUserPresenceEvent): void {
    this.record({ name: 'online', payload });
  }

  @OnEvent(SSE_LIFECYCLE_EVENTS.userOffline)
  offline(payload: SseUserPresenceEvent): void {
    this.record({ name: 'offline', payload });
  }

  /** What happened to one user, in order, as `name` or `name:reason`. */
  of(userId: string): string[] {
    return this.events
      .filter((e) => e.payload.userId === userId)
      .map((e) => (e.name === 'disconnected' ? `disconnected:${e.payload.reason}` : e.name));
  }

  until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    return this.changes.until(predicate, timeoutMs, what);
  }

  private record(event: Recorded): void {
    this.events.push(event);
    this.changes.notify();
  }
}

/** A listener that fails: `suppressErrors: false`, so its rejection reaches the emitter (the bridge logs it). */
@Injectable()
class FailingListener {
  @OnEvent(SSE_LIFECYCLE_EVENTS.connected, { suppressErrors: false })
  async connected(): Promise<void> {
    throw new Error('listener boom (async)');
  }
}

class RecordingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

interface Started {
  server: RunningApp;
  recorder: LifecycleRecorder;
  sse: SseService;
  logs: RecordingLogger;
  url(userId: string, token?: string): string;
}

async function start({
  sse = {},
  bridge = {},
  providers = [],
}: {
  sse?: Partial<SseModuleOptions> & SseModuleExtras;
  bridge?: SseBridgeOptions;
  providers?: Provider[];
} = {}): Promise<Started> {
  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, ...sse }),
      SseBridgeModule.forRoot(bridge),
    ],
    providers: [LifecycleRecorder, ...providers],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const logs = new RecordingLogger();
  const server = await listen(moduleRef.createNestApplication({ logger: logs }));
  return {
    server,
    logs,
    recorder: server.app.get(LifecycleRecorder),
    sse: server.app.get(SseService),
    url: (userId, token = signToken(userId)) => `${server.baseUrl}/api/events?token=${token}`,
  };
}

/** A raw stream (no reconnects: a stream the server ends stays ended), open once the server holds it. */
async function openStream(app: Started, userId: string, token?: string) {
  const before = app.sse.connectionCount(userId);
  const stream = await openRaw(app.url(userId, token));
  expect(stream.status).toBe(200);
  await waitForCount(() => app.sse.connectionCount(userId), before + 1);
  return stream;
}

describe('lifecycle events on the event emitter (SseBridgeModule)', () => {
  let app: Started | undefined;
  let clients: StreamClient[] = [];
  afterEach(async () => {
    clients.forEach((c) => c.close());
    clients = [];
    await app?.server.close();
    app = undefined;
  });

  const eventSource = async (userId: string, query = '') => {
    const client = new StreamClient(`${app!.url(userId)}${query}`);
    clients.push(client);
    await client.opened();
    return client;
  };

  it('a client that leaves: connected once, then disconnected once with client_left', async () => {
    app = await start();
    const client = await eventSource('leaver');
    await app.recorder.until(() => app!.recorder.of('leaver').length === 2, 'online and connected');
    expect(app.recorder.events.filter((e) => e.name === 'connected')).toEqual([
      { name: 'connected', payload: { userId: 'leaver', topics: [] } },
    ]);
    client.close();
    await app.recorder.until(() => app!.recorder.of('leaver').length === 4, 'disconnected and offline');
    await sleep(QUIET_MS);
    expect(app.recorder.of('leaver')).toEqual(['online', 'connected', 'disconnected:client_left', 'offline']);
    expect(app.recorder.events.find((e) => e.name === 'disconnected')!.payload).toEqual({
      userId: 'leaver',
      topics: [],
      reason: 'client_left',
    });
  });

  it('a token that expires: disconnected once with token_expired', async () => {
    app = await start();
    const token = signToken('expiring', { exp: Math.floor(Date.now() / 1000) + 2 });
    const stream = await openStream(app, 'expiring', token);
    await stream.ended;
    await app.recorder.until(() => app!.recorder.of('expiring').includes('offline'), 'offline after expiry');
    await sleep(QUIET_MS);
    expect(app.recorder.of('expiring')).toEqual(['online', 'connected', 'disconnected:token_expired', 'offline']);
  });

  it("disconnectUser: each of the user's streams disconnected once with disconnect_user, then offline once", async () => {
    app = await start();
    const streams = [await openStream(app, 'kicked'), await openStream(app, 'kicked')];
    expect(app.sse.disconnectUser('kicked')).toBe(2);
    await Promise.all(streams.map((s) => s.ended));
    await app.recorder.until(() => app!.recorder.of('kicked').includes('offline'), 'offline');
    await sleep(QUIET_MS);
    expect(app.recorder.of('kicked')).toEqual([
      'online',
      'connected',
      'connected',
      'disconnected:disconnect_user',
      'disconnected:disconnect_user',
      'offline',
    ]);
  });

  it('a client that does not read: disconnected once with slow_client', async () => {
    app = await start({ sse: { maxPendingDataLength: 256 * 1024 } });
    const { port } = new URL(app.server.baseUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`GET /api/events?token=${signToken('stalled')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => socket.once('data', r));
    socket.pause(); // reads nothing more: the kernel's buffers fill, then the server's
    await waitForCount(() => app!.sse.connectionCount('stalled'), 1);
    let seq = 0;
    while (app.sse.connectionCount('stalled') > 0 && seq < 40_000) {
      for (let i = 0; i < 500; i++) app.sse.sendToUser('stalled', { type: 'update', data: { seq: seq++, pad: KB } });
      await sleep(50);
    }
    await app.recorder.until(() => app!.recorder.of('stalled').includes('offline'), 'offline after the drop');
    socket.destroy();
    await sleep(QUIET_MS);
    expect(app.recorder.of('stalled')).toEqual(['online', 'connected', 'disconnected:slow_client', 'offline']);
  });

  it('shutdown (app.close()): every stream disconnected once with shutdown, every user offline once', async () => {
    app = await start();
    const streams = [await openStream(app, 'ann'), await openStream(app, 'ann'), await openStream(app, 'bob')];
    const { recorder } = app;
    await app.server.close();
    app = undefined;
    await Promise.all(streams.map((s) => s.ended));
    // The events went out before the app's listeners were removed (at the end of app.close()).
    expect(recorder.of('ann')).toEqual([
      'online',
      'connected',
      'connected',
      'disconnected:shutdown',
      'disconnected:shutdown',
      'offline',
    ]);
    expect(recorder.of('bob')).toEqual(['online', 'connected', 'disconnected:shutdown', 'offline']);
  });

  it('one user with two streams: online once at the first, offline once at the last, connected and disconnected per stream', async () => {
    app = await start();
    const first = await eventSource('twice');
    await app.recorder.until(() => app!.recorder.of('twice').length === 2, 'online and the first connected');
    const second = await eventSource('twice');
    await app.recorder.until(() => app!.recorder.of('twice').length === 3, 'the second connected');
    first.close();
    await app.recorder.until(() => app!.recorder.of('twice').length === 4, 'the first disconnected');
    await sleep(QUIET_MS);
    expect(app.recorder.of('twice')).toEqual(['online', 'connected', 'connected', 'disconnected:client_left']);
    second.close();
    await app.recorder.until(() => app!.recorder.of('twice').includes('offline'), 'offline');
    await sleep(QUIET_MS);
    expect(app.recorder.of('twice')).toEqual([
      'online',
      'connected',
      'connected',
      'disconnected:client_left',
      'disconnected:client_left',
      'offline',
    ]);
  });

  it('a push from a sse.connected listener reaches the stream that just opened', async () => {
    @Injectable()
    class Welcomer {
      constructor(private readonly sse: SseService) {}
      @OnEvent(SSE_LIFECYCLE_EVENTS.connected)
      welcome({ userId }: SseConnectedEvent): void {
        this.sse.sendToUser(userId, { type: 'update', data: { welcome: userId } });
      }
    }
    app = await start({ providers: [Welcomer] });
    const client = await eventSource('welcomed');
    await client.until(() => client.ofType('update').length === 1, 5000, 'the welcome');
    expect(client.ofType('update')[0].data).toEqual({ welcome: 'welcomed' });
  });

  it('a listener that throws (sync or async) is logged, and changes nothing: the stream serves, every event still fires once', async () => {
    app = await start({ providers: [FailingListener] });
    app.server.app.get(EventEmitter2).on(SSE_LIFECYCLE_EVENTS.disconnected, () => {
      throw new Error('listener boom (sync)');
    });
    const client = await eventSource('resilient');
    app.sse.sendToUser('resilient', { type: 'update', data: { n: 1 } });
    await client.until(() => client.ofType('update').length === 1, 5000, 'an event after the failing listener');
    client.close();
    await app.recorder.until(() => app!.recorder.of('resilient').includes('offline'), 'offline');
    await sleep(QUIET_MS);
    expect(app.recorder.of('resilient')).toEqual(['online', 'connected', 'disconnected:client_left', 'offline']);
    expect(app.logs.errors).toEqual(
      expect.arrayContaining([
        `a listener of sse.connected failed: listener boom (async)`,
        `a listener of sse.disconnected failed: listener boom (sync)`,
      ]),
    );
    expect(app.sse.connectionCount()).toBe(0);
  });

  it(`with lifecycleEvents: false, emits none (waits ${QUIET_MS} ms after a connect and a disconnect)`, async () => {
    app = await start({ bridge: { lifecycleEvents: false } });
    const client = await eventSource('unheard');
    client.close();
    await waitForCount(() => app!.sse.connectionCount('unheard'), 0);
    await sleep(QUIET_MS);
    expect(app.recorder.events).toEqual([]);
  });
});
