/**
 * The demo's operations contract (docs/demo-http-contract.md): GET /health, GET /metrics (Prometheus
 * text) and the admin view's topic `admin/stats`, over real HTTP and real SSE clients.
 */
import net from 'node:net';

import { SseService } from '@nest-sse/server';
import { Test } from '@nestjs/testing';

import type { AdminStatsEventData } from '../src/admin/admin-stats.js';
import { AppModule } from '../src/app.module.js';
import { loadConfig, MAX_HTTP_TIMEOUT_MS } from '../src/config.js';
import { applyHttpTimeouts, TIMEOUT_CHECK_INTERVAL_MS } from '../src/http-server.js';
import { listen, type RunningApp, signToken, startDemo, TEST_SECRET } from './support/demo-app.js';
import { type AdapterName, ADAPTERS, createApp } from './support/nest-app.factory.js';
import { postJson, rawGet, sleep, StreamClient, waitForCount } from './support/sse-client.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The Prometheus text format (0.0.4), strictly: every line is a HELP, a TYPE or a
 * sample `name{label="value",...} value`, and every sample's metric has a TYPE.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        types.set(meta[2], meta[3]);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const labelText = sample[2] ?? '';
    const rest = labelText.replace(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g,
      (_, key: string, value: string) => {
        labels[key] = value;
        return '';
      },
    );
    if (rest !== '') throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const value = /^[+-]Inf$/.test(sample[3]) ? (sample[3].startsWith('-') ? -Infinity : Infinity) : Number(sample[3]);
    if (Number.isNaN(value) && sample[3] !== 'NaN') throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: sample[1], labels, value });
  }
  for (const { name } of samples) {
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family)) throw new Error(`sample ${name} has no # TYPE line`);
  }
  return { samples, types };
}

const valueOf = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

/** The demo configured by `env` and served as src/main.ts serves it (its HTTP timeouts set before it listens). */
async function startServedDemo(adapter: AdapterName, env: NodeJS.ProcessEnv): Promise<RunningApp> {
  const config = { ...loadConfig({ JWT_SECRET: TEST_SECRET, ...env }), heartbeatMs: 0 };
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
  const app = createApp(moduleRef, { adapter });
  applyHttpTimeouts(app.getHttpServer(), config);
  return listen(app);
}

interface Cutoff {
  /** The status line's code, if the server answered before closing (Node answers 408 to a request it gave up on). */
  status?: number;
  /** Milliseconds from the request's head to the server closing the socket. */
  afterMs: number;
}

/**
 * Sends `head` on a raw socket, then `dribble` one byte every 200 ms (never all of
 * it), and resolves when the server closes the socket, or after `boundMs` with
 * what it answered then.
 */
function sendSlowly(port: number, head: string, dribble: string, boundMs: number): Promise<Cutoff | 'still open'> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let sentAt = 0;
    let next = 0;
    const timers: NodeJS.Timeout[] = [];
    const finish = (result: Cutoff | 'still open') => {
      timers.forEach(clearTimeout);
      socket.destroy();
      resolve(result);
    };
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write(head);
      sentAt = Date.now();
      const drip = () => {
        if (next < dribble.length - 1) socket.write(dribble[next++]);
        timers.push(setTimeout(drip, 200));
      };
      timers.push(setTimeout(drip, 200));
      timers.push(setTimeout(() => finish('still open'), boundMs));
    });
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      finish({ status: status === undefined ? undefined : Number(status), afterMs: Date.now() - sentAt });
    });
  });
}

describe.each(ADAPTERS)('on %s', (adapter) => {
  describe('HTTP timeouts (HTTP_REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS): slow requests are cut off, streams are not', () => {
    const TIMEOUT_MS = 1_000;
    // Node checks its connections every TIMEOUT_CHECK_INTERVAL_MS: a request is cut between the timeout and one check later.
    const BOUND_MS = TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + 2_000;
    let server: RunningApp;
    let port: number;
    const clients: StreamClient[] = [];
    beforeAll(async () => {
      server = await startServedDemo(adapter, {
        HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
        HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS),
      });
      port = Number(new URL(server.baseUrl).port);
    });
    afterEach(() => clients.splice(0).forEach((c) => c.close()));
    afterAll(() => server.close());

    const ticketHead = (contentLength: number) =>
      `POST /api/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${signToken('slow')}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`;

    it(`a ticket POST whose body dribbles in is cut off with a 408 within the timeout and one check (bound ${TIMEOUT_MS} + ${TIMEOUT_CHECK_INTERVAL_MS} + 2,000 ms)`, async () => {
      const body = JSON.stringify({ pad: 'x'.repeat(100) });
      const cut = await sendSlowly(port, ticketHead(body.length), body, BOUND_MS);
      expect(cut).toEqual({ status: 408, afterMs: expect.any(Number) });
      expect((cut as Cutoff).afterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    });

    it(`a ticket POST whose body never comes is cut off with a 408 within the same bound (${TIMEOUT_MS} + ${TIMEOUT_CHECK_INTERVAL_MS} + 2,000 ms)`, async () => {
      const cut = await sendSlowly(port, ticketHead(64), '', BOUND_MS);
      expect(cut).toEqual({ status: 408, afterMs: expect.any(Number) });
    });

    it('the timeouts default to 10 s for a request and 5 s for its head; a head timeout past the request timeout stops the start', () => {
      expect(loadConfig({})).toMatchObject({ httpRequestTimeoutMs: 10_000, httpHeadersTimeoutMs: 5_000 });
      expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '2000' })).toMatchObject({
        httpRequestTimeoutMs: 2_000,
        httpHeadersTimeoutMs: 2_000,
      });
      expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0', HTTP_HEADERS_TIMEOUT_MS: '0' })).toMatchObject({
        httpRequestTimeoutMs: 0,
        httpHeadersTimeoutMs: 0,
      });
      expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '3000' })).toThrow(
        /HTTP_HEADERS_TIMEOUT_MS must be/,
      );
    });

    it('no request timeout (HTTP_REQUEST_TIMEOUT_MS=0) leaves the head its own 5 s, not none; a head timeout may stand alone; past 2^31 - 1 ms either stops the start', () => {
      // min(5 s, 0) would be 0: no head timeout at all, a slowloris held forever.
      expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0' })).toMatchObject({
        httpRequestTimeoutMs: 0,
        httpHeadersTimeoutMs: 5_000,
      });
      expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0', HTTP_HEADERS_TIMEOUT_MS: '60000' })).toMatchObject({
        httpRequestTimeoutMs: 0,
        httpHeadersTimeoutMs: 60_000,
      });
      expect(
        loadConfig({
          HTTP_REQUEST_TIMEOUT_MS: String(MAX_HTTP_TIMEOUT_MS),
          HTTP_HEADERS_TIMEOUT_MS: String(MAX_HTTP_TIMEOUT_MS),
        }),
      ).toMatchObject({
        httpRequestTimeoutMs: 2 ** 31 - 1,
        httpHeadersTimeoutMs: 2 ** 31 - 1,
      });
      for (const [name, raw] of [
        ['HTTP_REQUEST_TIMEOUT_MS', '2147483648'],
        ['HTTP_REQUEST_TIMEOUT_MS', '1e12'],
        ['HTTP_HEADERS_TIMEOUT_MS', '9007199254740993'],
      ] as const) {
        expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0', [name]: raw })).toThrow(
          new RegExp(`^${name} must be at most 2147483647 ms .*, got '${raw}'$`),
        );
      }
    });

    it(`open streams (token and ticket) outlive the request timeout: after 3 timeouts (${3 * TIMEOUT_MS} ms, a negative wait) each is still its first connection and receives an event`, async () => {
      const fromTicket = await fetch(`${server.baseUrl}/api/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${signToken('long')}` },
      });
      expect(fromTicket.status).toBe(200);
      const { ticket } = (await fromTicket.json()) as { ticket: string };
      const streams = [
        new StreamClient(`${server.baseUrl}/api/events?token=${signToken('long')}`),
        new StreamClient(`${server.baseUrl}/api/events?ticket=${ticket}`),
      ];
      clients.push(...streams);
      await Promise.all(streams.map((c) => c.opened()));
      // Nothing to wait for: the point is that nothing happens to the streams in this time.
      await sleep(3 * TIMEOUT_MS);
      server.app.get(SseService).sendToUser('long', { type: 'notification', data: { still: 'open' } });
      for (const c of streams) {
        await c.until(() => c.ofType('notification').length === 1, 5000, 'the event on the long-lived stream');
        expect([c.opens, c.errors.length]).toEqual([1, 0]);
      }
    });
  });

  describe('HTTP_HEADERS_TIMEOUT_MS on its own: a head that dribbles in (slowloris) is cut by the head timeout, not the request timeout', () => {
    const HEAD_MS = 1_000;
    const REQUEST_MS = 5_000;
    const servers: RunningApp[] = [];
    afterAll(() => Promise.all(servers.map((s) => s.close())));
    /** A head that never ends, one byte every 200 ms, to the demo served with `env`. */
    async function slowloris(env: NodeJS.ProcessEnv, boundMs: number): Promise<Cutoff | 'still open'> {
      const server = await startServedDemo(adapter, env);
      servers.push(server);
      const port = Number(new URL(server.baseUrl).port);
      return sendSlowly(
        port,
        'POST /api/events HTTP/1.1\r\nHost: localhost\r\n',
        'X-Slow: ' + 'a'.repeat(100),
        boundMs,
      );
    }

    it(`with a head timeout of ${HEAD_MS} ms below a request timeout of ${REQUEST_MS} ms, a 408 after ${HEAD_MS} ms and within one check and 2,000 ms more, before the request timeout could`, async () => {
      const bound = HEAD_MS + TIMEOUT_CHECK_INTERVAL_MS + 2_000;
      expect(bound).toBeLessThan(REQUEST_MS);
      const cut = await slowloris(
        { HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS), HTTP_HEADERS_TIMEOUT_MS: String(HEAD_MS) },
        bound,
      );
      expect(cut).toEqual({ status: 408, afterMs: expect.any(Number) });
      expect((cut as Cutoff).afterMs).toBeGreaterThanOrEqual(HEAD_MS - 50);
    });

    it(`with no request timeout (HTTP_REQUEST_TIMEOUT_MS=0), the head's default 5 s still applies: a 408 within 5,000 + ${TIMEOUT_CHECK_INTERVAL_MS} + 2,000 ms`, async () => {
      const cut = await slowloris({ HTTP_REQUEST_TIMEOUT_MS: '0' }, 5_000 + TIMEOUT_CHECK_INTERVAL_MS + 2_000);
      expect(cut).toEqual({ status: 408, afterMs: expect.any(Number) });
      expect((cut as Cutoff).afterMs).toBeGreaterThanOrEqual(5_000 - 50);
    }, 15_000);
  });

  describe('demo operations: GET /health and GET /metrics', () => {
    let server: RunningApp;
    const clients: StreamClient[] = [];
    beforeAll(async () => {
      server = await startDemo({ heartbeatMs: 0, shipDelayMs: 60_000, maxConnectionsPerUser: 2 }, adapter);
    });
    afterEach(() => clients.splice(0).forEach((c) => c.close()));
    afterAll(() => server.close());

    async function stream(query: string): Promise<StreamClient> {
      const client = new StreamClient(`${server.baseUrl}/api/events?${query}`);
      clients.push(client);
      await client.opened();
      return client;
    }

    it('GET /health: 200 with a JSON body while serving, status ok and the sse check up', async () => {
      const res = await fetch(`${server.baseUrl}/health`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as Record<string, any>;
      expect(body).toEqual({
        status: 'ok',
        info: { sse: { status: 'up' } },
        error: {},
        details: { sse: { status: 'up' } },
      });
    });

    it("GET /metrics: 200 Prometheus text 0.0.4 that parses, the contract's sse_ names only, with the figures of a scripted sequence", async () => {
      // Two users, three streams; then refused: no token (401), a topic not allowed (403), alice's third stream (429).
      const alice = signToken('alice');
      await stream(`token=${alice}`);
      await stream(`token=${alice}`);
      await stream(`token=${signToken('bob')}`);
      expect((await rawGet(`${server.baseUrl}/api/events`)).status).toBe(401);
      expect((await rawGet(`${server.baseUrl}/api/events?token=${signToken('bob')}&topic=admin/stats`)).status).toBe(
        403,
      );
      expect((await rawGet(`${server.baseUrl}/api/events?token=${alice}`)).status).toBe(429);

      const res = await fetch(`${server.baseUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const { samples, types } = parsePrometheus(await res.text());
      // The names docs/demo-http-contract.md lists, and nothing else.
      expect([...types.keys()].sort()).toEqual(
        [
          'sse_open_streams',
          'sse_connected_users',
          'sse_live_topics',
          'sse_connections_refused_total',
          'sse_events_published_total',
          'sse_events_published_by_type_total',
          'sse_frames_written_total',
          'sse_events_replayed_total',
          'sse_resets_total',
          'sse_disconnects_total',
          'sse_publish_to_write_seconds',
        ].sort(),
      );
      expect(types.get('sse_publish_to_write_seconds')).toBe('histogram');
      expect(types.get('sse_open_streams')).toBe('gauge');
      expect(types.get('sse_connected_users')).toBe('gauge');
      expect(types.get('sse_connections_refused_total')).toBe('counter');
      expect(valueOf(samples, 'sse_open_streams')).toBe(3);
      expect(valueOf(samples, 'sse_connected_users')).toBe(2);
      const refused = (reason: string) => valueOf(samples, 'sse_connections_refused_total', { reason });
      expect(['unauthorized', 'forbidden', 'per_user_limit', 'global_cap', 'shutting_down'].map(refused)).toEqual([
        1, 1, 1, 0, 0,
      ]);
    });
  });

  describe("the admin view's topic admin/stats", () => {
    let server: RunningApp;
    let sse: SseService;
    const clients: StreamClient[] = [];
    const adminToken = () => signToken('root', { roles: ['admin'] });
    beforeAll(async () => {
      server = await startDemo({ heartbeatMs: 0, shipDelayMs: 60_000 }, adapter);
      sse = server.app.get(SseService);
    });
    afterEach(() => clients.splice(0).forEach((c) => c.close()));
    afterAll(() => server.close());

    async function stream(query: string): Promise<StreamClient> {
      const client = new StreamClient(`${server.baseUrl}/api/events?${query}`, ['stats']);
      clients.push(client);
      await client.opened();
      return client;
    }
    const statsOf = (c: StreamClient) => c.ofType('stats').map((e) => e.data as AdminStatsEventData);
    const last = (c: StreamClient) => statsOf(c).at(-1);
    /** Waits for the next `stats` event and returns it. */
    async function nextStats(c: StreamClient, timeoutMs = 3000): Promise<AdminStatsEventData> {
      const seen = c.ofType('stats').length;
      await c.until(() => c.ofType('stats').length > seen, timeoutMs, 'the next stats event');
      return last(c)!;
    }
    const publishedStats = () => sse.stats().published.byType.stats ?? 0;

    it('an admin gets the figures at once, then every second; a second stream changes them', async () => {
      await waitForCount(() => sse.connectionCount(), 0);
      const admin = await stream(`token=${adminToken()}&topic=admin/stats`);
      await admin.until(() => admin.ofType('stats').length === 1, 1000, 'the first stats event');
      expect(statsOf(admin)[0]).toEqual({
        instance: expect.stringMatching(/^.+:\d+$/),
        openStreams: 1,
        connectedUsers: 1,
        eventsPerSecond: 0,
        drops: 0,
        at: expect.any(String),
      });

      const started = Date.now();
      await nextStats(admin);
      await nextStats(admin);
      // Two ticks of the 1 s timer.
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);

      await stream(`token=${signToken('bob')}`);
      await admin.until(() => last(admin)?.openStreams === 2, 3000, 'two open streams in the figures');
      expect(last(admin)).toMatchObject({ openStreams: 2, connectedUsers: 2 });
    });

    it('a user without role admin gets 403 naming admin/stats, on the stream and on the ticket route', async () => {
      const res = await rawGet(
        `${server.baseUrl}/api/events?token=${signToken('bob', { roles: ['staff'] })}&topic=admin/stats`,
      );
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 403, topics: ['admin/stats'] });
      const ticket = await postJson(`${server.baseUrl}/api/events?topic=admin/stats`, {}, signToken('bob'));
      expect(ticket.status).toBe(403);
    });

    it("events per second counts the app's events over the last second, not the stats events: 0 when idle", async () => {
      const admin = await stream(`token=${adminToken()}&topic=admin/stats`);
      await nextStats(admin);
      // A full idle interval: only stats events were published.
      expect((await nextStats(admin)).eventsPerSecond).toBe(0);
      for (let i = 0; i < 30; i++) sse.sendToUser('nobody', { type: 'notification', data: { i } });
      const busy = await nextStats(admin);
      // 30 events in one interval of about a second (the timer may run late: down to 20/s).
      expect(busy.eventsPerSecond).toBeGreaterThanOrEqual(20);
      expect(busy.eventsPerSecond).toBeLessThanOrEqual(30);
      expect((await nextStats(admin)).eventsPerSecond).toBe(0);
    });

    it('drops counts a stream dropped for not reading (slow_client)', async () => {
      const admin = await stream(`token=${adminToken()}&topic=admin/stats`);
      const before = (await nextStats(admin)).drops;
      const { port } = new URL(server.baseUrl);
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`GET /api/events?token=${signToken('stalled')} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await new Promise((r) => socket.once('data', r));
      socket.pause(); // reads nothing more: the kernel's buffers fill, then the server's
      const pad = 'x'.repeat(1024);
      // About 10 MB a second, up to 40 MB: far past loopback's buffers and maxPendingDataLength (1 MB).
      for (let sent = 0; sse.connectionCount('stalled') > 0 && sent < 40_000; sent += 500) {
        for (let i = 0; i < 500; i++) sse.sendToUser('stalled', { type: 'notification', data: { pad } });
        await sleep(50);
      }
      socket.destroy();
      expect(sse.connectionCount('stalled')).toBe(0);
      await admin.until(() => last(admin)?.drops === before + 1, 3000, 'the drop in the figures');
    });

    it('publishes nothing while no stream is subscribed (none for 2.5 s after the last admin left), and starts again for the next admin', async () => {
      const admin = await stream(`token=${adminToken()}&topic=admin/stats`);
      await nextStats(admin);
      admin.close();
      await waitForCount(() => sse.connectionCount(), 0);
      // The tick that finds no subscriber is the last one.
      await sleep(1200);
      const stopped = publishedStats();
      await sleep(2500);
      expect(publishedStats()).toBe(stopped);

      const next = await stream(`token=${adminToken()}&topic=admin/stats`);
      await next.until(() => next.ofType('stats').length >= 2, 3000, 'stats events for the next admin');
      expect(publishedStats()).toBeGreaterThanOrEqual(stopped + 2);
    });
  });
});
