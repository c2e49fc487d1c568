import { jest } from '@jest/globals';
import { SseModule } from '@nest-sse/server';
import {
  SseBridgeModule,
  SseEventMapping,
  SsePush,
  type SsePushResult,
  type SsePushTarget,
} from '@nest-sse/server/bridge';
import { Injectable, Logger, Module } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';

import { listen, type RunningApp, TEST_SECRET } from './support/demo-app.js';
import { sleep, StreamClient } from './support/sse-client.js';
import { connectUser } from './support/streams.js';

interface Incident {
  userId?: string;
}

@SseEventMapping<Misaddressed>({ type: 'update', to: (e) => e.userId, data: () => ({ kind: 'misaddressed' }) })
class Misaddressed {
  constructor(readonly userId: string | undefined) {}
}

const plainListenerCalls: string[] = [];

/** Every way a mapping can fail, each beside one that works. */
@Injectable()
class MixedListener {
  @SsePush('incident', { type: 'notification' })
  throws(): SsePushResult {
    throw new Error('handler exploded');
  }

  @SsePush('incident', { type: 'notification' })
  async rejects(): Promise<SsePushResult> {
    await sleep(5);
    throw new Error('async handler exploded');
  }

  @SsePush('incident', { type: 'notification' })
  unserialisable(e: Incident): SsePushTarget {
    return { userId: e.userId ?? 'victim', data: { amount: 10n } };
  }

  @SsePush('incident', { type: 'notification' })
  noAudience(e: Incident): SsePushResult {
    return { data: { for: e.userId } } as unknown as SsePushTarget;
  }

  /** One character over the user-id limit: refused by the bridge, before SseService sees it. */
  @SsePush('incident', { type: 'notification' })
  tooLongUserId(): SsePushTarget {
    return { userId: 'v'.repeat(257), data: { kind: 'incident', tooLong: true } };
  }

  @SsePush('incident', { type: 'notification' })
  works(e: Incident): SsePushTarget {
    return { userId: e.userId ?? 'victim', data: { kind: 'incident', ok: true } };
  }

  /** An ordinary listener with no push: it must still run. */
  @OnEvent('incident')
  plain(): void {
    plainListenerCalls.push('plain');
  }
}

@Module({ providers: [MixedListener] })
class MixedModule {}

/** Subscribed to a pattern: its failures name the event that matched. */
@Injectable()
class WildcardListener {
  @SsePush('order.*', { type: 'update' })
  fails(): SsePushResult {
    throw new Error('wildcard handler exploded');
  }
}

@Module({ providers: [WildcardListener] })
class WildcardModule {}

describe('bridge failures', () => {
  let server: RunningApp;
  let events: EventEmitter2;
  let errors: string[];
  const clients: StreamClient[] = [];

  beforeEach(async () => {
    plainListenerCalls.length = 0;
    errors = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation(function (message: unknown) {
      errors.push(String(message));
    });
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 }),
        SseBridgeModule.forRoot(),
        MixedModule,
      ],
    }).compile();
    server = await listen(moduleRef.createNestApplication({ logger: false }));
    events = server.app.get(EventEmitter2);
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await server.close();
    jest.restoreAllMocks();
  });

  const connect = (userId: string) => connectUser(server, userId, clients);

  it('logs each failed mapping with the event name; the working one, other listeners and other users go on', async () => {
    const victim = await connect('victim');
    const bystander = await connect('bystander');

    expect(() => events.emit('incident', { userId: 'victim' })).not.toThrow();
    await expect(events.emitAsync('incident', {})).resolves.toBeInstanceOf(Array);
    events.emit('task', new Misaddressed(undefined));
    events.emit('task', new Misaddressed('bystander'));

    await victim.until(() => victim.events.length >= 2, 5000, 'the working pushes');
    await bystander.until(() => bystander.events.length >= 1, 5000, 'the mapped push');
    await sleep(50);

    expect(victim.events.map((e) => [e.type, e.data])).toEqual([
      ['notification', { kind: 'incident', ok: true }],
      ['notification', { kind: 'incident', ok: true }],
    ]);
    expect(bystander.events.map((e) => [e.type, e.data])).toEqual([['update', { kind: 'misaddressed' }]]);
    expect(plainListenerCalls).toEqual(['plain', 'plain']);

    const incident = (source: string) =>
      expect.stringMatching(
        new RegExp(`^SSE push 'notification' for event 'incident' from MixedListener\\.${source} failed: `),
      );
    expect(errors.filter((m) => m.includes('MixedListener.throws'))).toEqual([incident('throws'), incident('throws')]);
    expect(errors.filter((m) => m.includes('MixedListener.rejects'))).toEqual([
      incident('rejects'),
      incident('rejects'),
    ]);
    expect(errors.find((m) => m.includes('MixedListener.throws'))).toContain(
      'the handler threw: Error: handler exploded',
    );
    expect(errors.find((m) => m.includes('MixedListener.rejects'))).toContain(
      'the handler rejected: Error: async handler exploded',
    );
    expect(errors.find((m) => m.includes('MixedListener.unserialisable'))).toMatch(/not JSON-serialisable/);
    expect(errors.find((m) => m.includes('MixedListener.noAudience'))).toMatch(/no audience/);
    expect(errors).toContain(
      "SSE push 'update' for event 'task' from @SseEventMapping(Misaddressed) failed: no audience: 'to' returned nothing",
    );
    expect(errors.filter((m) => m.includes('MixedListener.tooLongUserId'))).toEqual([
      incident('tooLongUserId'),
      incident('tooLongUserId'),
    ]);
    expect(errors.find((m) => m.includes('MixedListener.tooLongUserId'))).toMatch(
      /failed: no audience: userId is not usable \(user id must be a non-empty string of at most 256 characters, or a finite number\)$/,
    );
    expect(errors).toHaveLength(11);
    // Nothing identifying a stream's credentials is ever logged.
    expect(errors.join('\n')).not.toMatch(/eyJ/);
  });

  it('names the emitted event, not the pattern, when a wildcard subscription fails', async () => {
    await server.close();
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot({ wildcard: true }),
        SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 }),
        SseBridgeModule.forRoot(),
        WildcardModule,
      ],
    }).compile();
    server = await listen(moduleRef.createNestApplication({ logger: false }));
    server.app.get(EventEmitter2).emit('order.placed', {});
    expect(errors).toEqual([
      "SSE push 'update' for event 'order.placed' from WildcardListener.fails failed: the handler threw: Error: wildcard handler exploded",
    ]);
  });
});
