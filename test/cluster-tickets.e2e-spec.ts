import jwt from 'jsonwebtoken';

import { ClusterInstance } from './support/cluster-instance.js';
import { ConditionWaiter } from './support/condition-waiter.js';
import { freshBuild } from './support/fresh-build.js';
import { hasNginx, type NginxProcess, startNginx } from './support/nginx.js';
import { hasRedisServer, startRedisServer } from './support/redis-server.js';
import { openRaw } from './support/sse-client.js';

/**
 * Stream tickets behind a round-robin balancer. Two instances of
 * test/support/cluster-app.main.ts on the Redis transport (their own redis-server)
 * behind a real nginx balancing round-robin, as an ordinary Kubernetes Service or
 * nginx upstream does: a ticket's POST and its GET reach different instances, so a
 * ticket must be redeemable on any instance, and once across the cluster. A second
 * pair keeps each instance's own memory store (`tickets.store`), which is what every
 * Redis app had before: there the same connects are refused.
 */
const SECRET = 'cluster-tickets-secret';
const CONNECTS = 50;
/** Bound on any single positive wait. */
const WAIT_MS = 10_000;

const token = (userId: string) => jwt.sign({ sub: userId }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });

const missing = [!hasRedisServer() && 'redis-server', !hasNginx() && 'nginx'].filter((m): m is string => !!m);

/** A stream opened with a ticket, and a wait for what it received. */
async function openWithTicket(url: string) {
  const stream = await openRaw(url);
  const changes = new ConditionWaiter();
  stream.response.on('data', () => changes.notify());
  return {
    ...stream,
    received: (text: string) => changes.until(() => stream.body().includes(text), WAIT_MS, `${text} on the stream`),
  };
}

if (missing.length > 0 && process.env.CI === 'true') {
  describe('stream tickets behind nginx round-robin', () => {
    it('has redis-server and nginx (installed by .ci/run)', () => {
      throw new Error(`missing in CI: ${missing.join(', ')}`);
    });
  });
} else if (missing.length > 0) {
  console.warn(`test/cluster-tickets.e2e-spec.ts skipped: ${missing.join(' and ')} not installed`);
  describe.skip('stream tickets behind nginx round-robin: skipped, see the notice', () => {
    it('needs redis-server and nginx', () => undefined);
  });
} else {
  describe('stream tickets behind nginx round-robin (two instances)', () => {
    let redis: Awaited<ReturnType<typeof startRedisServer>>;
    const instances: ClusterInstance[] = [];
    /** The instances on the Redis transport with its shared ticket store (the default there). */
    let shared: NginxProcess;
    /** The same, each instance keeping its own tickets in memory (`tickets.store`). */
    let separate: NginxProcess;

    beforeAll(async () => {
      const build = freshBuild(['test/support/cluster-app.main.ts']);
      redis = await startRedisServer();
      const main = (await build).path('test/support/cluster-app.main.js');
      const options = (name: string, env: Record<string, string>) => ({
        name,
        redisUrl: redis.url,
        jwtSecret: SECRET,
        slotTtlMs: 3000,
        slotRefreshMs: 1000,
        maxPendingPublishes: 100,
        historyMaxEvents: 50,
        heartbeatMs: 1000,
        retryMs: 1000,
        env,
      });
      instances.push(
        ...(await Promise.all([
          ClusterInstance.start(main, options('A', { REDIS_KEY_PREFIX: 'tk-shared:' })),
          ClusterInstance.start(main, options('B', { REDIS_KEY_PREFIX: 'tk-shared:' })),
          ClusterInstance.start(main, options('C', { REDIS_KEY_PREFIX: 'tk-memory:', TICKET_STORE: 'memory' })),
          ClusterInstance.start(main, options('D', { REDIS_KEY_PREFIX: 'tk-memory:', TICKET_STORE: 'memory' })),
        ])),
      );
      const [a, b, c, d] = instances;
      [shared, separate] = await Promise.all([
        startNginx({ upstreams: [a.port, b.port] }),
        startNginx({ upstreams: [c.port, d.port] }),
      ]);
    }, 120_000);

    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.kill('SIGKILL')));
      await Promise.all([shared?.stop(), separate?.stop()]);
      await redis?.stop();
    }, 30_000);

    const post = async (balancer: NginxProcess, userId: string) => {
      const res = await fetch(`http://127.0.0.1:${balancer.port}/api/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token(userId)}` },
        signal: AbortSignal.timeout(WAIT_MS),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { ticket: string }).ticket;
    };

    it(`${CONNECTS} ticket connects (the POST through nginx, then the GET through nginx) all open (200) on the shared store, and each stream receives its user's event`, async () => {
      const [a, b] = instances;
      const statuses: number[] = [];
      for (let i = 0; i < CONNECTS; i++) {
        const user = `rr-${i}`;
        const ticket = await post(shared, user);
        const stream = await openWithTicket(`http://127.0.0.1:${shared.port}/api/events?ticket=${ticket}`);
        try {
          statuses.push(stream.status);
          if (stream.status !== 200) continue;
          // Sent by either instance: the stream is on one of them, the event reaches it through Redis.
          await (i % 2 === 0 ? a : b).sendOk({ userId: user }, 'notification', { n: i });
          await stream.received(`"n":${i}`);
        } finally {
          stream.destroy();
        }
      }
      expect(statuses).toEqual(Array(CONNECTS).fill(200));
    }, 120_000);

    it('a ticket is single use across the cluster: its GET again through nginx (the other instance, then the same one) is a 401', async () => {
      const ticket = await post(shared, 'once');
      const url = `http://127.0.0.1:${shared.port}/api/events?ticket=${ticket}`;
      const first = await openWithTicket(url);
      try {
        expect(first.status).toBe(200);
        for (let again = 0; again < 2; again++) {
          const next = await openWithTicket(url);
          next.destroy();
          expect({ again, status: next.status }).toEqual({ again, status: 401 });
        }
      } finally {
        first.destroy();
      }
    });

    it("with each instance's own memory store (tickets.store), as every Redis app had before: round-robin sends the GET to the other instance, whose 401 refuses the ticket", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const ticket = await post(separate, `mem-${i}`);
        const stream = await openWithTicket(`http://127.0.0.1:${separate.port}/api/events?ticket=${ticket}`);
        stream.destroy();
        statuses.push(stream.status);
      }
      // Strict rotation: each POST and the GET after it reach different instances.
      expect(statuses).toEqual(Array(10).fill(401));
    });
  });
}
