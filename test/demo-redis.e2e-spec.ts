import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

import jwt from 'jsonwebtoken';

import { loadConfig, redactUrl } from '../src/config.js';
import { freePort } from './support/cluster-ports.js';
import { freshBuild } from './support/fresh-build.js';
import { hasNginx, type NginxProcess, nginxSite, startNginx } from './support/nginx.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from './support/redis-server.js';
import { postJson, StreamClient } from './support/sse-client.js';

/**
 * The demo as several instances are deployed: `SSE_TRANSPORT=redis REDIS_URL=… npm start`,
 * two such instances behind nginx as deploy/nginx.conf sets it up.
 */
describe('demo config: SSE_TRANSPORT and REDIS_URL', () => {
  const PASSWORD = 'pw-never-in-messages';

  it('is memory by default, without a Redis URL even when REDIS_URL is set', () => {
    expect(loadConfig({})).toMatchObject({ sseTransport: 'memory', redisUrl: undefined });
    expect(loadConfig({ SSE_TRANSPORT: 'memory', REDIS_URL: 'redis://127.0.0.1:6379' })).toMatchObject({
      sseTransport: 'memory',
      redisUrl: undefined,
    });
  });

  it('takes redis with its URL (redis:// or rediss://)', () => {
    for (const url of ['redis://127.0.0.1:6379', `rediss://user:${PASSWORD}@redis.internal:6380/2`]) {
      expect(loadConfig({ SSE_TRANSPORT: 'redis', REDIS_URL: url })).toMatchObject({
        sseTransport: 'redis',
        redisUrl: url,
      });
    }
  });

  it('refuses any other transport, naming the choices', () => {
    for (const value of ['kafka', 'Redis', ' redis']) {
      expect(() => loadConfig({ SSE_TRANSPORT: value })).toThrow(
        `SSE_TRANSPORT must be one of memory, redis, got '${value}'`,
      );
    }
  });

  it('refuses redis without REDIS_URL', () => {
    for (const env of [{ SSE_TRANSPORT: 'redis' }, { SSE_TRANSPORT: 'redis', REDIS_URL: '' }]) {
      expect(() => loadConfig(env)).toThrow('SSE_TRANSPORT=redis needs REDIS_URL');
    }
  });

  it('refuses a REDIS_URL that is not a redis URL without repeating it (it may hold a password)', () => {
    const urls = [
      `http://user:${PASSWORD}@host`,
      `${PASSWORD}@127.0.0.1:6379`,
      `127.0.0.1:6379 ${PASSWORD}`,
      'localhost:6379',
    ];
    for (const url of urls) {
      let message = '';
      try {
        loadConfig({ SSE_TRANSPORT: 'redis', REDIS_URL: url });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain('REDIS_URL must be a redis:// or rediss:// URL');
      expect(message).not.toContain(PASSWORD);
    }
  });

  it('redacts the password for logs, and only the password', () => {
    expect(redactUrl(`redis://:${PASSWORD}@127.0.0.1:6379`)).toBe('redis://:***@127.0.0.1:6379');
    expect(redactUrl(`rediss://app:${PASSWORD}@redis.internal:6380/2`)).toBe('rediss://app:***@redis.internal:6380/2');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

/** A site's directives in order, comments and layout aside, `listen` left out (the tests listen on a free port). */
function directives(site: string): string[] {
  return site
    .replace(/#[^\n]*/g, '')
    .split(/([;{}])/)
    .map((part) => part.replace(/\s+/g, ' ').trim())
    .filter((part) => part !== '' && part !== ';')
    .filter((part) => !part.startsWith('listen '));
}

describe('deploy/nginx.conf', () => {
  const deployed = readFileSync(new URL('../deploy/nginx.conf', import.meta.url), 'utf8');

  it('is the site the cluster tests run (test/support/nginx.ts), for instances on 3001 and 3002, on loopback port 8080', () => {
    expect(directives(deployed)).toEqual(directives(nginxSite([3001, 3002], 8080)));
    expect(deployed).toMatch(/^\s*listen 127\.0\.0\.1:8080;/m);
  });

  it("leaves proxy buffering on (the module's X-Accel-Buffering: no is enough)", () => {
    expect(directives(deployed).some((d) => d.startsWith('proxy_buffering'))).toBe(false);
  });
});

const SECRET = 'demo-redis-test-secret';
/** In the URL on purpose: the demo must log it redacted and never print it. */
const REDIS_PASSWORD = 'demo-redis-pw-1234';
/** Short, so the shipment's `update` comes within the test. */
const SHIP_DELAY_MS = 300;
/** Bound on any single positive wait. */
const WAIT_MS = 10_000;

const token = (userId: string) => jwt.sign({ sub: userId }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });

interface DemoProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<string>;
}

/** The compiled demo as `npm start` runs it, with `env` on top; resolves once it printed its dashboard URL. */
async function startDemoProcess(main: string, env: NodeJS.ProcessEnv): Promise<DemoProcess> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, NODE_OPTIONS: '', JWT_SECRET: SECRET, SHIP_DELAY_MS: String(SHIP_DELAY_MS), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
  );
  const deadline = Date.now() + 15_000;
  let match: RegExpMatchArray | null = null;
  while (
    !(match = output.match(/Dashboard: http:\/\/localhost:(\d+)\//)) &&
    child.exitCode === null &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!match) {
    child.kill('SIGKILL');
    throw new Error(`the demo did not print its dashboard URL: ${output}`);
  }
  return { child, port: Number(match[1]), output: () => output, exited };
}

/** The compiled demo started with `env`, expected to fail: its exit and everything it printed. */
async function failedStart(
  main: string,
  env: NodeJS.ProcessEnv,
  boundMs: number,
): Promise<{ exit: string; output: string }> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, NODE_OPTIONS: '', JWT_SECRET: SECRET, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
  const exit = await new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
  );
  clearTimeout(timer);
  return { exit, output };
}

const missing = [!hasRedisServer() && 'redis-server', !hasNginx() && 'nginx'].filter((m): m is string => !!m);

if (missing.length > 0 && process.env.CI === 'true') {
  describe('the demo on Redis, two instances behind nginx', () => {
    it('has redis-server and nginx (installed by .ci/run)', () => {
      throw new Error(`missing in CI: ${missing.join(', ')}`);
    });
  });
} else if (missing.length > 0) {
  console.warn(
    `test/demo-redis.e2e-spec.ts: the demo on Redis skipped: ${missing.join(' and ')} not installed ` +
      '(apt-get install redis-server nginx-light to run it)',
  );
  describe.skip('the demo on Redis, two instances behind nginx: skipped, see the notice', () => {
    it('needs redis-server and nginx', () => undefined);
  });
} else {
  describe('the demo on Redis (SSE_TRANSPORT=redis npm start), two instances behind nginx (deploy/nginx.conf)', () => {
    let main: string;
    let redis: TestRedisServer;
    let redisUrl: string;
    let a: DemoProcess;
    let b: DemoProcess;
    let nginx: NginxProcess;
    let open: StreamClient[] = [];

    beforeAll(async () => {
      main = (await freshBuild()).path('src/main.js');
      redis = await startRedisServer();
      // The test's redis-server has no password: Redis ignores the one given (ioredis warns), the demo must hide it anyway.
      redisUrl = `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`;
      const env = async () => ({ SSE_TRANSPORT: 'redis', REDIS_URL: redisUrl, PORT: String(await freePort()) });
      [a, b] = await Promise.all([startDemoProcess(main, await env()), startDemoProcess(main, await env())]);
      nginx = await startNginx({ upstreams: [a.port, b.port] });
    }, 180_000);

    afterEach(() => {
      open.forEach((client) => client.close());
      open = [];
    });

    afterAll(async () => {
      for (const demo of [a, b]) demo?.child.kill('SIGKILL');
      await nginx?.stop();
      await redis?.stop();
    });

    const viaNginx = (path: string) => `http://127.0.0.1:${nginx.port}${path}`;
    const direct = (demo: DemoProcess, path: string) => `http://127.0.0.1:${demo.port}${path}`;

    async function connect(url: string): Promise<StreamClient> {
      const client = new StreamClient(url);
      open.push(client);
      await client.opened(WAIT_MS);
      return client;
    }

    async function placeOrder(url: string, userId: string, item: string): Promise<string> {
      const res = await postJson(url, { item, quantity: 1 }, token(userId));
      expect(res.status).toBe(201);
      return (res.json as { id: string }).id;
    }

    const notified = (client: StreamClient, orderId: string) =>
      client.ofType('notification').filter((e) => (e.data as { orderId?: string }).orderId === orderId);
    const shipped = (client: StreamClient, orderId: string) =>
      client.ofType('update').filter((e) => {
        const data = e.data as { kind?: string; orderId?: string };
        return data.kind === 'order.shipped' && data.orderId === orderId;
      });

    it("says it runs on Redis, with the URL's password hidden", () => {
      for (const demo of [a, b]) {
        expect(demo.output()).toContain(`SSE transport: redis at redis://:***@127.0.0.1:${redis.port}`);
        expect(demo.output()).not.toContain(REDIS_PASSWORD);
      }
    });

    it("delivers an order's notification and shipment to the user's streams on both instances, whichever took the order", async () => {
      // Two streams through nginx: round-robin puts one on each instance. Orders placed
      // directly on each instance then reach a stream on the other one, however nginx chose.
      const streams = [
        await connect(viaNginx(`/api/events?token=${token('alice')}`)),
        await connect(viaNginx(`/api/events?token=${token('alice')}`)),
      ];
      const bystander = await connect(viaNginx(`/api/events?token=${token('bob')}`));
      const orders = [
        await placeOrder(direct(a, '/api/orders'), 'alice', 'from a'),
        await placeOrder(direct(b, '/api/orders'), 'alice', 'from b'),
        await placeOrder(viaNginx('/api/orders'), 'alice', 'through nginx'),
      ];
      for (const stream of streams) {
        const all = () => orders.every((id) => shipped(stream, id).length > 0);
        await stream.until(all, WAIT_MS, 'every order notified and shipped');
        // Exactly once each, in order: placed before shipped.
        for (const id of orders) {
          expect(notified(stream, id)).toHaveLength(1);
          expect(shipped(stream, id)).toHaveLength(1);
          const [placedAt, shippedAt] = [notified(stream, id)[0], shipped(stream, id)[0]].map((e) =>
            stream.events.indexOf(e),
          );
          expect(placedAt).toBeLessThan(shippedAt);
        }
      }
      // Ids are the cluster's, one order for both instances: every stream saw them ascending.
      for (const stream of streams) {
        const ids = stream.events.map((e) => e.lastEventId);
        expect([...ids].sort(compareIds)).toEqual(ids);
      }
      expect(bystander.ofType('notification')).toHaveLength(0);
    });

    it('resumes a client on whichever instance it reaches: what it missed, from the shared history, once', async () => {
      const first = await connect(viaNginx(`/api/events?token=${token('carol')}`));
      const before = await placeOrder(viaNginx('/api/orders'), 'carol', 'before');
      await first.until(() => notified(first, before).length === 1, WAIT_MS, 'the first notification');
      const lastEventId = notified(first, before)[0].lastEventId;
      first.close();
      // Missed while away, placed on each instance.
      const missed = [
        await placeOrder(direct(a, '/api/orders'), 'carol', 'missed a'),
        await placeOrder(direct(b, '/api/orders'), 'carol', 'missed b'),
      ];
      // Two reconnects in a row: round-robin sends them to different instances; each must replay the same.
      for (let i = 0; i < 2; i++) {
        const resume = `&lastEventId=${encodeURIComponent(lastEventId)}`;
        const again = await connect(viaNginx(`/api/events?token=${token('carol')}${resume}`));
        const replayed = () => missed.every((id) => notified(again, id).length === 1);
        await again.until(replayed, WAIT_MS, 'the missed notifications replayed');
        expect(notified(again, before)).toHaveLength(0);
        expect(again.ofType('reset')).toHaveLength(0);
        again.close();
      }
    });

    it('stops on SIGTERM within 5 s (its Redis connections close)', async () => {
      a.child.kill('SIGTERM');
      const bound = new Promise<string>((resolve) => setTimeout(() => resolve('still running after 5 s'), 5000));
      expect(await Promise.race([a.exited, bound])).toBe('SIGTERM');
    });
  });

  describe('the demo on Redis: startup errors', () => {
    let main: string;

    beforeAll(async () => {
      main = (await freshBuild()).path('src/main.js');
    }, 180_000);

    it('exits with a clear message for an unknown SSE_TRANSPORT', async () => {
      const { exit, output } = await failedStart(main, { SSE_TRANSPORT: 'kafka' }, 10_000);
      expect(exit).toBe('code 1');
      expect(output).toContain("Startup failed: SSE_TRANSPORT must be one of memory, redis, got 'kafka'");
    });

    it('exits with a clear message for redis without REDIS_URL', async () => {
      const { exit, output } = await failedStart(main, { SSE_TRANSPORT: 'redis', REDIS_URL: '' }, 10_000);
      expect(exit).toBe('code 1');
      expect(output).toContain('Startup failed: SSE_TRANSPORT=redis needs REDIS_URL');
    });

    it("exits when Redis does not answer (the transport's 10 s connect timeout), never printing the password", async () => {
      const port = await freePort();
      const { exit, output } = await failedStart(
        main,
        { SSE_TRANSPORT: 'redis', REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${port}` },
        20_000,
      );
      expect(exit).toBe('code 1');
      expect(output).toContain('Startup failed: RedisSseTransport: Redis did not answer within 10000 ms');
      expect(output).not.toContain(REDIS_PASSWORD);
    }, 30_000);
  });
}

/** `<ms>-<seq>` ids in their order. */
function compareIds(x: string, y: string): number {
  const [xm, xs] = x.split('-').map(Number);
  const [ym, ys] = y.split('-').map(Number);
  return xm - ym || xs - ys;
}
