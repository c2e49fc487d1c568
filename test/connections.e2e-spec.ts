import net from 'node:net';
import { SseService } from '@nest-sse/server';
import { type RunningApp, signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { openRaw, rawGet, rawHead, sleep, StreamClient, waitForCount } from './support/sse-client.js';

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
        expect(JSON.parse(sixth.body)).toMatchObject({ statusCode: 429, limit: 5, message: expect.stringMatching(/at most 5/) });
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

    it('frees the slot of a client that leaves before the stream starts', async () => {
      // The request is sent and the socket closed at once, while the guard may still be running.
      for (let i = 0; i < 50; i++) {
        const socket = net.connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
        socket.write(`GET /api/events?token=${signToken('hasty')} HTTP/1.1\r\nHost: x\r\n\r\n`);
        socket.destroy();
      }
      await sleep(200);
      await waitForCount(() => sse.connectionCount(), 0);
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

    it('drops a client that stops reading instead of buffering without bound', async () => {
      const { port } = new URL(server.baseUrl);
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.write(`GET /api/events?token=${signToken('slow')} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await new Promise((r) => socket.once('data', r));
      socket.pause(); // reads nothing more: kernel buffers fill, then Nest's queue does
      await waitForCount(() => sse.connectionCount('slow'), 1);
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      const payload = 'x'.repeat(16 * 1024);
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 4000 && sse.connectionCount('slow') > 0; i++) {
        sse.sendToUser('slow', { type: 'update', data: payload });
        if (i % 50 === 0) await sleep(1);
      }
      await waitForCount(() => sse.connectionCount('slow'), 0);
      socket.resume();
      await closed;
      // 4000 x 16 KiB would be 64 MiB if it were kept; the client was dropped long before.
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(48 * 1024 * 1024);
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
