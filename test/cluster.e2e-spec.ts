import jwt from 'jsonwebtoken';

import { ClusterInstance, type SendResult } from './support/cluster-instance.js';
import { freshBuild } from './support/fresh-build.js';
import { hasNginx, type NginxProcess, startNginx } from './support/nginx.js';
import { hasRedisServer, startRedisServer } from './support/redis-server.js';
import { openRaw, rawGet, StreamClient } from './support/sse-client.js';

/**
 * Several instances as one app, end to end: its own redis-server on a loopback port (so it
 * can be stopped and restarted), two instances of test/support/cluster-app.main.ts
 * (each its own process, on the Redis transport) and a real nginx balancing
 * between them round-robin, buffering left on. Clients connect through nginx with
 * the `eventsource` package (which resumes with Last-Event-ID by itself); the test
 * sends through each instance's control surface, directly on its port.
 */
const SECRET = 'cluster-test-secret';
/** Short, so a crashed instance's slots come back within the test (the default is documented in the transport). */
const SLOT_TTL_MS = 3000;
const SLOT_REFRESH_MS = 1000;
/** Publishes an instance holds while Redis is away; past it a send is refused. */
const MAX_PENDING_PUBLISHES = 20;
/** Events a user's history keeps: a client away for more is told (`too-old`). */
const HISTORY_MAX_EVENTS = 50;
const HEARTBEAT_MS = 500;
/** The reconnection delay the instances tell clients: the gap in which a cut-off client misses events. */
const RETRY_MS = 1000;
/** Through nginx, an event is at the client this soon after the send returned (buffering would hold it until ~4 KiB piled up). */
const PROMPT_MS = 1000;
/** Bound on any single positive wait. */
const WAIT_MS = 10_000;

const token = (userId: string) => jwt.sign({ sub: userId }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });

const missing = [!hasRedisServer() && 'redis-server', !hasNginx() && 'nginx'].filter((m): m is string => !!m);

if (missing.length > 0 && process.env.CI === 'true') {
  // CI installs both (.ci/run): a skip there would hide the cluster going untested.
  describe('cluster (Redis transport behind nginx)', () => {
    it('has redis-server and nginx (installed by .ci/run)', () => {
      throw new Error(`missing in CI: ${missing.join(', ')}`);
    });
  });
} else if (missing.length > 0) {
  console.warn(
    `test/cluster.e2e-spec.ts skipped: ${missing.join(' and ')} not installed (apt-get install redis-server nginx-light to run it)`,
  );
  describe.skip('cluster (Redis transport behind nginx): skipped, see the notice', () => {
    it('needs redis-server and nginx', () => undefined);
  });
} else {
  describe('cluster (Redis transport behind nginx)', () => {
    let redis: Awaited<ReturnType<typeof startRedisServer>>;
    let a: ClusterInstance;
    let b: ClusterInstance;
    let nginx: NginxProcess;
    /** nginx with its default HTTP/1.0 to the app: there only `X-Accel-Buffering: no` keeps it from holding events. */
    let nginx10: NginxProcess;
    /** Everything a test opened, closed after it whatever happened. */
    let open: Array<{ close(): void }> = [];

    const viaNginx = (userId: string, query = '', balancer = nginx) =>
      `http://127.0.0.1:${balancer.port}/api/events?token=${token(userId)}${query}`;
    const direct = (instance: ClusterInstance, userId: string) =>
      `http://127.0.0.1:${instance.port}/api/events?token=${token(userId)}`;

    /** An EventSource through nginx, open. */
    async function connect(userId: string, query = '', balancer = nginx): Promise<StreamClient> {
      const client = new StreamClient(viaNginx(userId, query, balancer));
      open.push(client);
      await client.opened(WAIT_MS);
      return client;
    }

    /** A raw stream (to read comments such as heartbeats, and statuses), kept open. */
    async function openStream(url: string) {
      const stream = await openRaw(url);
      open.push({ close: stream.destroy });
      return stream;
    }

    const notes = (client: StreamClient) => client.ofType('notification');
    const ns = (client: StreamClient) => notes(client).map((e) => (e.data as { n: number }).n);

    /** Ids are cluster-ordered: each one later than the one before. */
    function expectIncreasingIds(client: StreamClient): void {
      const ids = notes(client).map((e) => e.lastEventId.split('-').map(Number));
      for (let i = 1; i < ids.length; i++) {
        const [ms0, seq0] = ids[i - 1];
        const [ms1, seq1] = ids[i];
        expect(ms1 > ms0 || (ms1 === ms0 && seq1 > seq0)).toBe(true);
      }
    }

    /** Which instance holds the user's one stream. */
    async function holderOf(userId: string): Promise<[ClusterInstance, ClusterInstance]> {
      const [onA, onB] = await Promise.all([a.count(userId), b.count(userId)]);
      if (onA + onB !== 1) throw new Error(`expected one stream of ${userId}, found ${onA} on A and ${onB} on B`);
      return onA === 1 ? [a, b] : [b, a];
    }

    async function waitFor(
      predicate: () => boolean | Promise<boolean>,
      what: string,
      timeoutMs = WAIT_MS,
    ): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!(await predicate())) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    beforeAll(async () => {
      const build = freshBuild(['test/support/cluster-app.main.ts']);
      redis = await startRedisServer();
      const main = (await build).path('test/support/cluster-app.main.js');
      const options = {
        redisUrl: redis.url,
        jwtSecret: SECRET,
        slotTtlMs: SLOT_TTL_MS,
        slotRefreshMs: SLOT_REFRESH_MS,
        maxPendingPublishes: MAX_PENDING_PUBLISHES,
        historyMaxEvents: HISTORY_MAX_EVENTS,
        heartbeatMs: HEARTBEAT_MS,
        retryMs: RETRY_MS,
      };
      [a, b] = await Promise.all([
        ClusterInstance.start(main, { ...options, name: 'A' }),
        ClusterInstance.start(main, { ...options, name: 'B' }),
      ]);
      [nginx, nginx10] = await Promise.all([
        startNginx({ upstreams: [a.port, b.port] }),
        startNginx({ upstreams: [a.port, b.port], upstreamHttp: '1.0' }),
      ]);
    }, 120_000);

    afterEach(async () => {
      open.forEach((c) => c.close());
      open = [];
      // A test that failed half-way leaves nothing stopped for the next one.
      await Promise.all([a?.ensureRunning(), b?.ensureRunning()]);
    }, 30_000);

    afterAll(async () => {
      await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
      await Promise.all([nginx?.stop(), nginx10?.stop()]);
      await redis?.stop();
    }, 30_000);

    it.each(['1.1', '1.0'] as const)(
      `delivers to a stream behind nginx (HTTP/%s to the app, buffering on) what either instance sends, each within ${PROMPT_MS} ms, once, in order`,
      async (upstreamHttp) => {
        const user = `one-${upstreamHttp}`;
        const client = await connect(user, '', upstreamHttp === '1.1' ? nginx : nginx10);
        for (let n = 0; n < 6; n++) {
          const from = n % 2 === 0 ? a : b;
          const sentAt = Date.now();
          await from.sendOk({ userId: user }, 'notification', { n });
          await client.until(
            () => notes(client).length === n + 1,
            PROMPT_MS,
            `event ${n} (sent by ${from.name}) through nginx`,
          );
          expect(Date.now() - sentAt).toBeLessThan(PROMPT_MS);
        }
        expect(ns(client)).toEqual([0, 1, 2, 3, 4, 5]);
        expectIncreasingIds(client);
      },
    );

    it('delivers a broadcast from either instance to the streams on both instances, once each', async () => {
      const clients: StreamClient[] = [];
      // One at a time: round-robin puts two on each instance.
      for (let i = 0; i < 4; i++) clients.push(await connect(`wide-${i}`));
      const onA = (await Promise.all(clients.map((_, i) => a.count(`wide-${i}`)))).reduce((x, y) => x + y);
      const onB = (await Promise.all(clients.map((_, i) => b.count(`wide-${i}`)))).reduce((x, y) => x + y);
      expect([onA, onB]).toEqual([2, 2]);

      const everyoneHas = (count: number) => () => clients.every((c) => notes(c).length >= count);
      await a.sendOk({ all: true }, 'notification', { n: 0 });
      await waitFor(everyoneHas(1), 'the broadcast from A on every stream');
      await b.sendOk({ all: true }, 'notification', { n: 1 });
      await waitFor(everyoneHas(2), 'the broadcast from B on every stream');
      // A last one: a duplicate of the first two would have come before it.
      await a.sendOk({ all: true }, 'notification', { n: 2 });
      await waitFor(everyoneHas(3), 'the closing broadcast on every stream');
      for (const client of clients) {
        expect(ns(client)).toEqual([0, 1, 2]);
        expectIncreasingIds(client);
      }
    });

    it.each(['disconnectUser', 'SIGKILL'] as const)(
      'resumes a client cut off by its instance (%s) on the other instance through nginx, from Last-Event-ID, without loss or duplicates',
      async (cut) => {
        const user = `mover-${cut}`;
        const client = await connect(user);
        const [holder, other] = await holderOf(user);
        await holder.sendOk({ userId: user }, 'notification', { n: 0 });
        await client.until(() => notes(client).length === 1, WAIT_MS, 'the first event');

        if (cut === 'disconnectUser') expect(await holder.disconnect(user)).toBe(1);
        else await holder.kill('SIGKILL');
        // Sent while the client waits its retry delay: only replay can bring these.
        const senders = cut === 'SIGKILL' ? [other] : [other, holder];
        for (let n = 1; n <= 4; n++) await senders[n % senders.length].sendOk({ userId: user }, 'notification', { n });
        expect(client.opens).toBe(1);

        // A reset ends the wait too, so that the assertions below say what came instead.
        await client.until(
          () => client.ofType('reset').length > 0 || (client.opens === 2 && notes(client).length >= 5),
          WAIT_MS,
          'the reconnect and the missed events',
        );
        expect(client.ofType('reset')).toEqual([]);
        expect(await other.count(user)).toBe(1);
        if (holder.running()) expect(await holder.count(user)).toBe(0);
        await other.sendOk({ userId: user }, 'notification', { n: 5 });
        await client.until(() => notes(client).length >= 6, WAIT_MS, 'a live event after the resume');
        expect(ns(client)).toEqual([0, 1, 2, 3, 4, 5]);
        expect(client.ofType('reset')).toEqual([]);
        expectIncreasingIds(client);
      },
    );

    it('replays what a client missed after both instances restarted (history lives in Redis)', async () => {
      const first = await connect('phoenix');
      await a.sendOk({ userId: 'phoenix' }, 'notification', { n: 0 });
      await first.until(() => notes(first).length === 1, WAIT_MS, 'the first event');
      const resumeFrom = notes(first)[0].lastEventId;
      first.close();

      await a.sendOk({ userId: 'phoenix' }, 'notification', { n: 1 });
      await b.sendOk({ userId: 'phoenix' }, 'notification', { n: 2 });
      await Promise.all([a.restart(), b.restart()]);
      await b.sendOk({ userId: 'phoenix' }, 'notification', { n: 3 });

      const again = await connect('phoenix', `&lastEventId=${resumeFrom}`);
      await again.until(() => again.ofType('reset').length > 0 || notes(again).length >= 3, WAIT_MS, 'the replay');
      expect(again.ofType('reset')).toEqual([]);
      await a.sendOk({ userId: 'phoenix' }, 'notification', { n: 4 });
      await again.until(() => notes(again).length >= 4, WAIT_MS, 'a live event after the replay');
      expect(ns(again)).toEqual([1, 2, 3, 4]);
      expect(again.ofType('reset')).toEqual([]);
      expectIncreasingIds(again);
    });

    it(`answers a resume from before what the shared history kept (more than ${HISTORY_MAX_EVENTS} events missed) with a too-old reset, not a silent gap`, async () => {
      const first = await connect('overflow');
      await a.sendOk({ userId: 'overflow' }, 'notification', { n: 0 });
      await first.until(() => notes(first).length === 1, WAIT_MS, 'the first event');
      const resumeFrom = notes(first)[0].lastEventId;
      first.close();
      for (let n = 1; n <= HISTORY_MAX_EVENTS + 5; n++)
        await (n % 2 ? a : b).sendOk({ userId: 'overflow' }, 'notification', { n });

      const again = await connect('overflow', `&lastEventId=${resumeFrom}`);
      await again.until(
        () => again.ofType('reset').length > 0 || notes(again).length >= HISTORY_MAX_EVENTS,
        WAIT_MS,
        'a reset',
      );
      expect(again.ofType('reset').map((e) => (e.data as { reason: string }).reason)).toEqual(['too-old']);
      // What replay could still give is not passed off as complete: no event before the reset.
      expect(notes(again)).toEqual([]);
    });

    it('holds the per-user limit across instances: five streams spread over both, the sixth refused 429 through nginx and on each instance; a closed one frees its slot', async () => {
      const streams = [];
      for (let i = 0; i < 5; i++) streams.push(await openStream(viaNginx('limited')));
      expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
      const [onA, onB] = await Promise.all([a.count('limited'), b.count('limited')]);
      expect(onA + onB).toBe(5);
      expect(onA).toBeGreaterThan(0);
      expect(onB).toBeGreaterThan(0);

      expect((await rawGet(viaNginx('limited'))).status).toBe(429);
      expect((await rawGet(direct(a, 'limited'))).status).toBe(429);
      expect((await rawGet(direct(b, 'limited'))).status).toBe(429);

      // Released on close, by the instance itself: well before a slot could expire.
      streams[0].destroy();
      const closedAt = Date.now();
      let reopened: Awaited<ReturnType<typeof openStream>> | undefined;
      await waitFor(
        async () => {
          const attempt = await openStream(viaNginx('limited'));
          if (attempt.status === 200) reopened = attempt;
          else attempt.destroy();
          return reopened !== undefined;
        },
        'a slot after closing a stream',
        SLOT_TTL_MS,
      );
      expect(Date.now() - closedAt).toBeLessThan(SLOT_TTL_MS);
      expect((await rawGet(viaNginx('limited'))).status).toBe(429);
    });

    it(`frees the slots of an instance killed with SIGKILL within slotTtlMs (${SLOT_TTL_MS} ms), and not at once`, async () => {
      const streams = [];
      for (let i = 0; i < 5; i++) streams.push(await openStream(viaNginx('crash')));
      expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
      const onA = await a.count('crash');
      expect(onA).toBeGreaterThan(0);
      expect(onA).toBeLessThan(5);

      await a.kill('SIGKILL');
      const killedAt = Date.now();
      // A's slots are still held (nobody released them): B refuses at once.
      expect((await rawGet(direct(b, 'crash'))).status).toBe(429);
      expect(Date.now() - killedAt).toBeLessThan(SLOT_TTL_MS);

      let regained = 0;
      await waitFor(
        async () => {
          const attempt = await openStream(direct(b, 'crash'));
          if (attempt.status === 200) regained++;
          else attempt.destroy();
          return regained === onA;
        },
        `the ${onA} slots of the killed instance`,
        SLOT_TTL_MS + SLOT_REFRESH_MS + 2000,
      );
      const freedAfter = Date.now() - killedAt;
      // Expired (nobody was left to release them), within the documented time.
      expect(freedAfter).toBeLessThanOrEqual(SLOT_TTL_MS + 500);
      expect(await b.count('crash')).toBe(5);
      expect((await rawGet(direct(b, 'crash'))).status).toBe(429);
    });

    it('keeps streams open through a Redis outage (heartbeats go on), bounds or refuses publishes while it lasts, and recovers: queued events delivered once or a reset, live delivery again, a resume from before it replayed or reset, new streams again', async () => {
      const client = await connect('outage');
      const raw = await openStream(viaNginx('outage-raw'));
      expect(raw.status).toBe(200);
      await a.sendOk({ userId: 'outage' }, 'notification', { n: 0 });
      await client.until(() => notes(client).length === 1, WAIT_MS, 'the first event');
      let rawEnded = false;
      void raw.ended.then(() => (rawEnded = true));

      await redis.stop();
      let redisDown = true;
      try {
        const heartbeats = () => raw.body().split(': heartbeat').length - 1;
        const before = heartbeats();
        await waitFor(() => heartbeats() >= before + 3, 'three heartbeats with Redis down', HEARTBEAT_MS * 3 + 3000);
        expect(rawEnded).toBe(false);
        expect(client.readyState).toBe(1);
        expect(client.opens).toBe(1);

        // New streams cannot get a slot checked: refused (503) before any byte, not let in past the limit.
        expect((await rawGet(viaNginx('newcomer'))).status).toBe(503);

        const results: Array<{ n: number; result: SendResult }> = [];
        for (let n = 1; n <= MAX_PENDING_PUBLISHES + 5; n++) {
          results.push({ n, result: await a.send({ userId: 'outage' }, 'notification', { n }) });
        }
        const accepted = results.filter((r) => r.result.ok).map((r) => r.n);
        const refused = results.flatMap((r) => (r.result.ok ? [] : [r.result]));
        // Queued within the bound, or refused with the transport's error: never taken and dropped.
        expect(accepted.length).toBeLessThanOrEqual(MAX_PENDING_PUBLISHES);
        expect(refused.length).toBe(results.length - accepted.length);
        for (const refusal of refused) {
          expect(refusal.error).toBe('SseTransportError');
          expect(refusal.message.length).toBeGreaterThan(10);
        }
        // The accepted ones form a prefix: once full, the queue refuses until Redis is back.
        expect(accepted).toEqual(accepted.map((_, i) => i + 1));

        await redis.restart();
        redisDown = false;
        await waitFor(
          async () => (await b.send({ userId: 'outage' }, 'notification', { n: 100 })).ok,
          'B to publish again after Redis came back',
        );
        const recovered = () =>
          client.ofType('reset').length > 0 ||
          (accepted.every((n) => ns(client).includes(n)) && ns(client).includes(100));
        await client.until(recovered, WAIT_MS, 'the queued events (or a reset) and the event sent after the restart');
        if (client.ofType('reset').length === 0) {
          const got = ns(client);
          // Each once; A's queued ones in the order A sent them.
          expect(got.filter((n) => n !== 100).sort((x, y) => x - y)).toEqual([0, ...accepted]);
          expect(got.filter((n) => n !== 100 && n !== 0)).toEqual(accepted);
          expect(got.filter((n) => n === 100)).toHaveLength(1);
        }

        // Live delivery and new streams work again; nothing crashed.
        await a.sendOk({ userId: 'outage' }, 'notification', { n: 101 });
        await client.until(() => ns(client).includes(101), WAIT_MS, 'a live event from A after the outage');
        // Redis came back empty (it keeps nothing on disk): a client resuming from before the outage
        // gets exactly what it missed since, or a reset, never a silent gap.
        const since = ns(client).slice(1);
        const resumed = await connect('outage', `&lastEventId=${notes(client)[0].lastEventId}`);
        await resumed.until(
          () => resumed.ofType('reset').length > 0 || notes(resumed).length >= since.length,
          WAIT_MS,
          'the replay since before the outage, or a reset',
        );
        if (resumed.ofType('reset').length === 0) expect(ns(resumed)).toEqual(since);
        const newcomer = await connect('newcomer');
        await b.sendOk({ userId: 'newcomer' }, 'notification', { n: 0 });
        await newcomer.until(() => notes(newcomer).length === 1, WAIT_MS, "a new stream's first event");
        expect(rawEnded).toBe(false);
        expect(a.running() && b.running()).toBe(true);
      } finally {
        if (redisDown) await redis.restart();
      }
    }, 60_000);
  });
}
