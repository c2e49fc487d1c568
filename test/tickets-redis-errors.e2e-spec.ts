import { RedisSseTransport } from '@nest-sse/server/redis';
import { Redis } from 'ioredis';

import { type RunningApp, signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from './support/redis-server.js';
import { openRaw, rawGet } from './support/sse-client.js';

/**
 * Redis answering the ticket scripts with an error (READONLY after a failover, OOM,
 * MISCONF, LOADING...) is a 503 the client retries, as an unreachable Redis is, never a 500; and the answer
 * names no ticket. On a redis-server of the test's own, made to refuse writes with CONFIG SET / REPLICAOF.
 */
const redisMissing = !hasRedisServer();
if (redisMissing && process.env.CI) throw new Error('redis-server is required in CI (.ci/run installs it)');
if (redisMissing) console.warn('test/tickets-redis-errors.e2e-spec.ts skipped: redis-server is not installed');
const describeRedis = redisMissing ? describe.skip : describe;

describeRedis.each(ADAPTERS)('ticket routes when Redis answers with an error (%s)', (adapter) => {
  let redis: TestRedisServer;
  let admin: Redis;
  let server: RunningApp;
  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url, { maxRetriesPerRequest: null });
    admin.on('error', () => undefined);
    server = await startLibrary(
      { heartbeatIntervalMs: 0, transport: new RedisSseTransport({ redis: redis.url, keyPrefix: 'b2err:' }) },
      {},
      { adapter },
    );
  });
  afterAll(async () => {
    await server?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  const stream = () => `${server.baseUrl}/api/events`;
  const post = () => fetch(stream(), { method: 'POST', headers: { authorization: `Bearer ${signToken('rita')}` } });
  async function expect503(res: { status: number; body: string }, ticket?: string): Promise<void> {
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({
      statusCode: 503,
      message: expect.stringMatching(/^Stream tickets cannot be issued or checked/),
    });
    if (ticket) expect(res.body).not.toContain(ticket);
  }

  it('READONLY (a replica of a dead master): POST and GET ?ticket= answer 503; once Redis takes writes again the same ticket opens', async () => {
    const { ticket } = (await (await post()).json()) as { ticket: string };
    await admin.replicaof('127.0.0.1', 1);
    try {
      const asked = await post();
      await expect503({ status: asked.status, body: await asked.text() });
      await expect503(await rawGet(`${stream()}?ticket=${ticket}`), ticket);
    } finally {
      await admin.replicaof('NO', 'ONE');
    }
    const opened = await openRaw(`${stream()}?ticket=${ticket}`);
    opened.destroy();
    expect(opened.status).toBe(200);
  });

  it('OOM (maxmemory 1, noeviction): POST answers 503; back to 200 once memory allows', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    try {
      const asked = await post();
      await expect503({ status: asked.status, body: await asked.text() });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect((await post()).status).toBe(200);
  });
});
