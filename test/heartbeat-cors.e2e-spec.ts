import { jest } from '@jest/globals';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, SseService } from '@nest-sse/server';

import { type RunningApp, signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { openRaw, rawGet, sleep, StreamClient, waitForCount } from './support/sse-client.js';

/** How long a stream with heartbeats disabled is watched for one, after the interval clock moved. */
const QUIET_MS = 300;
/** Everything but setInterval/clearInterval stays real: sockets, timeouts, nextTick, Date. */
const REAL_EXCEPT_INTERVALS = [
  'Date',
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setTimeout',
  'clearTimeout',
] as const;

describe.each(ADAPTERS)('on %s', (adapter) => {
  describe('heartbeat', () => {
    let server: RunningApp | undefined;
    afterEach(() => server?.close());

    it('sends a `: heartbeat` comment every interval', async () => {
      server = await startLibrary({ heartbeatIntervalMs: 100 }, {}, { adapter });
      const res = await rawGet(`${server.baseUrl}/api/events?token=${signToken('hb')}`, {}, 550);
      const beats = res.body.match(/^: heartbeat\n\n/gm) ?? [];
      expect(beats.length).toBeGreaterThanOrEqual(3);
      expect(beats.length).toBeLessThanOrEqual(6);
    });

    it('can send a named heartbeat event instead, visible to EventSource listeners', async () => {
      server = await startLibrary({ heartbeatIntervalMs: 100, heartbeatAs: 'event' }, {}, { adapter });
      const client = new StreamClient(`${server.baseUrl}/api/events?token=${signToken('hb')}`);
      try {
        await client.until(() => client.ofType('heartbeat').length >= 2, 2000, 'two heartbeats');
        expect(client.ofType('heartbeat')[0].data).toBeNull();
        // A heartbeat repeats the last id the stream delivered, so it never moves the client's Last-Event-ID.
        server.app.get(SseService).sendToUser('hb', { type: 'update', data: 'x' });
        await client.until(() => client.ofType('update').length === 1);
        const beats = client.ofType('heartbeat').length;
        await client.until(() => client.ofType('heartbeat').length > beats, 2000, 'a later heartbeat');
        expect(client.ofType('heartbeat').at(-1)!.lastEventId).toBe(client.ofType('update')[0].lastEventId);
      } finally {
        client.close();
      }
    });

    it(`sends none when disabled (0): none in ${(2 * DEFAULT_HEARTBEAT_INTERVAL_MS) / 1000} s of interval time (watched ${QUIET_MS} ms), where the default sends two`, async () => {
      // The default interval (30 s) is too long to wait for, and a short wait sees no heartbeat either way; so the
      // interval clock alone is faked (sockets, timeouts and Date stay real) and moved past two default intervals,
      // for a stream with heartbeats disabled and one with the default. Token expiry is off: its 1 s interval
      // would be the only other one.
      const options = { closeOnTokenExpiry: false };
      const disabled = await startLibrary({ ...options, heartbeatIntervalMs: 0 }, {}, { adapter });
      const byDefault = await startLibrary(options, {}, { adapter });
      jest.useFakeTimers({ doNotFake: [...REAL_EXCEPT_INTERVALS] });
      const streams: Array<Awaited<ReturnType<typeof openRaw>>> = [];
      try {
        const off = await openRaw(`${disabled.baseUrl}/api/events?token=${signToken('hb')}`);
        streams.push(off);
        await waitForCount(() => disabled.app.get(SseService).connectionCount('hb'), 1);
        // No interval at all for it (the fake clock would spin for ever on one of 0 ms, which Node runs every 1 ms).
        expect(jest.getTimerCount()).toBe(0);
        const on = await openRaw(`${byDefault.baseUrl}/api/events?token=${signToken('hb')}`);
        streams.push(on);
        await waitForCount(() => byDefault.app.get(SseService).connectionCount('hb'), 1);
        expect([off.status, on.status]).toEqual([200, 200]);

        jest.advanceTimersByTime(2 * DEFAULT_HEARTBEAT_INTERVAL_MS);
        await waitForCount(() => (on.body().match(/^: heartbeat$/gm) ?? []).length, 2);
        await sleep(QUIET_MS);
        expect(off.body()).toMatch(/^retry: /m);
        expect(off.body()).not.toMatch(/heartbeat/);
      } finally {
        streams.forEach((s) => s.destroy());
        // The streams' intervals are cleared with the fake clearInterval that made them.
        await waitForCount(() => disabled.app.get(SseService).connectionCount(), 0);
        await waitForCount(() => byDefault.app.get(SseService).connectionCount(), 0);
        jest.useRealTimers();
        await Promise.all([disabled.close(), byDefault.close()]);
      }
    });
  });

  describe('CORS on the stream route', () => {
    let server: RunningApp;
    beforeAll(async () => {
      server = await startLibrary({ cors: { origins: ['https://app.example'], credentials: true } }, {}, { adapter });
    });
    afterAll(() => server.close());
    const url = () => `${server.baseUrl}/api/events?token=${signToken('cors')}`;

    it('echoes an allowed origin with Vary: Origin and credentials', async () => {
      const res = await rawGet(url(), { origin: 'https://app.example' });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['vary']).toMatch(/Origin/);
    });

    it('sends no CORS header to a refused origin', async () => {
      const res = await rawGet(url(), { origin: 'https://evil.example' });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers['vary']).toMatch(/Origin/);
    });

    it('keeps CORS headers on a 401, so the browser can read the error', async () => {
      const res = await rawGet(`${server.baseUrl}/api/events?token=bad`, { origin: 'https://app.example' });
      expect(res.status).toBe(401);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    });

    it('answers a preflight from an allowed origin only', async () => {
      const preflight = (origin: string) =>
        fetch(`${server.baseUrl}/api/events`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        });
      const ok = await preflight('https://app.example');
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
      const refused = await preflight('https://evil.example');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
