import net from 'node:net';

import { SseAuthGuard, SseModule, SseRoute, SseService, SseStreamUser, type SseUser } from '@nest-sse/server';
import { type CanActivate, Controller, Injectable, type MessageEvent, Module, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Observable } from 'rxjs';

import { SseStreamFactory } from '../libs/sse/src/streams/sse-stream.factory.js';
import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { Gate } from './support/gate.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { openRaw, rawGet, rawHead, sleep, StreamClient, waitForCount } from './support/sse-client.js';

/** Holds the module guard's async `isRevoked` hook until the test opens it. */
const revocationGate = new Gate();
/** Holds an app's own async guard until the test opens it. */
const ownGuardGate = new Gate();

@Injectable()
class HeldGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    await ownGuardGate.pass();
    return true;
  }
}

@Controller('held')
@UseGuards(SseAuthGuard, HeldGuard)
class HeldStreamController {
  constructor(private readonly sse: SseService) {}

  @SseRoute('events')
  events(@SseStreamUser() user: SseUser): Observable<MessageEvent> {
    return this.sse.stream(user.userId);
  }
}

describe.each(ADAPTERS)('on %s', (adapter) => {
  describe('per-user connection limit and registry cleanup', () => {
    let server: RunningApp;
    let sse: SseService;
    beforeAll(async () => {
      server = await startLibrary({ heartbeatIntervalMs: 0 }, {}, { adapter });
      sse = server.app.get(SseService);
    });
    afterAll(() => server.close());
    const url = (user: string) => `${server.baseUrl}/api/events?token=${signToken(user)}`;

    it('answers HEAD with the head alone and holds no slot: six HEADs, then the GET streams', async () => {
      const head = () => rawHead(url('header'));
      for (let i = 0; i < 6; i++) {
        expect(await head()).toEqual({ status: 200, type: expect.stringMatching(/^text\/event-stream/) });
      }
      expect(sse.connectionCount('header')).toBe(0);
      const get = await rawGet(url('header'));
      expect(get.status).toBe(200);
      expect(get.body).toMatch(/retry: 3000/);
    });

    it('answers the 6th stream of a user with 429 JSON, keeps the five, and frees a slot on close', async () => {
      const five = Array.from({ length: 5 }, () => new StreamClient(url('limited')));
      try {
        await Promise.all(five.map((c) => c.opened()));
        expect(sse.connectionCount('limited')).toBe(5);

        const sixth = await rawGet(url('limited'));
        expect(sixth.status).toBe(429);
        expect(sixth.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(sixth.body)).toMatchObject({
          statusCode: 429,
          limit: 5,
          message: expect.stringMatching(/at most 5/),
        });
        expect(sixth.body).not.toMatch(/retry:|data:/);
        // Another user is not affected by this user's limit.
        expect((await rawGet(url('someone-else'))).status).toBe(200);

        sse.sendToUser('limited', { type: 'notification', data: 'still here' });
        for (const c of five) await c.until(() => c.events.length === 1);

        five[0].close();
        await waitForCount(() => sse.connectionCount('limited'), 4);
        const again = await openRaw(url('limited'));
        expect(again.status).toBe(200);
        again.destroy();
      } finally {
        five.forEach((c) => c.close());
      }
      await waitForCount(() => sse.connectionCount(), 0);
    });

    it('leaves the registry empty after 1000 connect/disconnect cycles', async () => {
      const users = Array.from({ length: 20 }, (_, i) => `cycler-${i}`);
      const tokens = users.map((u) => signToken(u));
      let done = 0;
      const worker = async (w: number) => {
        for (let i = w; i < 1000; i += 25) {
          const stream = await openRaw(`${server.baseUrl}/api/events?token=${tokens[i % tokens.length]}`);
          expect(stream.status).toBe(200);
          stream.destroy();
          done++;
        }
      };
      await Promise.all(Array.from({ length: 25 }, (_, w) => worker(w)));
      expect(done).toBe(1000);
      await waitForCount(() => sse.connectionCount(), 0);
      expect(sse.connectedUserCount()).toBe(0);
    });
  });

  describe('a client that leaves while an async guard holds its request', () => {
    let server: RunningApp;
    let sse: SseService;
    /** Streams created (each one subscribed by the sink at once): the handler ran. */
    let created = 0;
    /** Sockets the server still holds open. */
    const serverSockets = new Set<net.Socket>();
    beforeAll(async () => {
      const isRevoked = () => revocationGate.pass().then(() => false);
      @Module({
        imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET, isRevoked }, heartbeatIntervalMs: 0 })],
        controllers: [HeldStreamController],
      })
      class HeldModule {}
      const moduleRef = await Test.createTestingModule({ imports: [HeldModule] }).compile();
      server = await listen(createApp(moduleRef, { adapter }));
      sse = server.app.get(SseService);
      const factory = server.app.get(SseStreamFactory);
      const create = factory.create.bind(factory);
      factory.create = (...args) => {
        created++;
        return create(...args);
      };
      server.app.getHttpServer().on('connection', (socket: net.Socket) => {
        serverSockets.add(socket);
        socket.once('close', () => serverSockets.delete(socket));
      });
    });
    afterEach(() => {
      revocationGate.reset();
      ownGuardGate.reset();
      created = 0;
    });
    afterAll(() => server.close());

    /**
     * Sends `count` requests, each of its own user, waits until all are held in
     * `gate`, closes them and waits until the server saw every socket close; only
     * then lets the guards finish. Each stream is then created for a client that is
     * gone, whose response will never emit 'close' again.
     */
    async function leaveWhileHeld(path: string, gate: Gate, count = 10): Promise<void> {
      const port = Number(new URL(server.baseUrl).port);
      const sockets = Array.from({ length: count }, (_, i) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.write(`GET ${path}?token=${signToken(`hasty-${i}`)} HTTP/1.1\r\nHost: x\r\n\r\n`);
        return socket;
      });
      await gate.untilArrived(count);
      sockets.forEach((socket) => socket.destroy());
      await waitForCount(() => serverSockets.size, 0);
      gate.open();
      await waitForCount(() => created, count);
    }

    it("frees the slot of a client that left while the module route's async isRevoked ran", async () => {
      await leaveWhileHeld('/api/events', revocationGate);
      await waitForCount(() => sse.connectionCount(), 0);
      expect(sse.connectedUserCount()).toBe(0);
    });

    it("frees the slot of a client that left while an own @SseRoute's async guard ran", async () => {
      revocationGate.open();
      await leaveWhileHeld('/held/events', ownGuardGate);
      await waitForCount(() => sse.connectionCount(), 0);
      expect(sse.connectedUserCount()).toBe(0);
    });
  });

  describe('slow clients', () => {
    let server: RunningApp;
    let sse: SseService;
    beforeAll(async () => {
      server = await startLibrary({ heartbeatIntervalMs: 0 }, { maxPendingDataLength: 64 * 1024 }, { adapter });
      sse = server.app.get(SseService);
    });
    afterAll(() => server.close());

    it('drops a client that stops reading, long before what it was sent could pile up', async () => {
      const { port } = new URL(server.baseUrl);
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.write(`GET /api/events?token=${signToken('slow')} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await new Promise((r) => socket.once('data', r));
      socket.pause(); // reads nothing more: kernel buffers fill, then the sink's queue does
      await waitForCount(() => sse.connectionCount('slow'), 1);
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      const payload = 'x'.repeat(16 * 1024);
      // About 8 MB a second for up to 10 s (80 MB), stopped by the drop: a client over the limit
      // that owes no less one check interval later (1 s) is dropped, so a few seconds' worth at most.
      const max = 5000;
      let sent = 0;
      while (sent < max && sse.connectionCount('slow') > 0) {
        for (let i = 0; i < 10; i++, sent++) sse.sendToUser('slow', { type: 'update', data: payload });
        await sleep(20);
      }
      await waitForCount(() => sse.connectionCount('slow'), 0);
      socket.resume();
      await closed;
      expect(sent).toBeLessThan(max / 2);
    });
  });

  describe('graceful shutdown', () => {
    it('ends every open stream on app.close() and leaves nothing behind', async () => {
      const server = await startLibrary({ heartbeatIntervalMs: 50 }, {}, { adapter });
      const sse = server.app.get(SseService);
      const streams = await Promise.all(
        ['a', 'b', 'c', 'a'].map((u) => openRaw(`${server.baseUrl}/api/events?token=${signToken(u)}`)),
      );
      expect(sse.connectionCount()).toBe(4);
      const started = Date.now();
      await server.close();
      expect(Date.now() - started).toBeLessThan(2000);
      await Promise.all(streams.map((s) => s.ended));
      expect(streams.every((s) => s.response.complete)).toBe(true);
      expect(sse.connectionCount()).toBe(0);
      expect(sse.connectedUserCount()).toBe(0);
    });
  });
});
