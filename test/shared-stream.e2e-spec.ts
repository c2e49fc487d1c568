import {
  MemoryHistoryStore,
  SSE_EVENT_TYPES,
  SSE_SHARED_PARAM,
  type SseEventId,
  type SseFrame,
  type SseHistoryRecord,
  type SseHistoryStore,
  type SseReplayResult,
  SseService,
  untagTopicData,
} from '@nest-sse/server';
import { RedisSseTransport } from '@nest-sse/server/redis';
import type { Subscription } from 'rxjs';

import type { RunningApp } from './support/demo-app.js';
import { signToken } from './support/demo-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from './support/redis-server.js';
import { openRaw, rawGet, rawHead, type RawResponse, StreamClient, waitForCount } from './support/sse-client.js';
import { startTopicsApp } from './support/topics-app.js';

/**
 * `?shared=1` (one client holds the stream for several subscribers): on a
 * shared stream every topic event's data is its topic, a line feed, then its JSON;
 * events to users and broadcasts, and the server's other frames, are unchanged; the
 * opening is a `connected` event whose id is where the stream starts. Topics are
 * `feeds/*`, open to everyone in the topics app.
 */

const TAG = `&${SSE_SHARED_PARAM}=1`;
const CONNECTED = SSE_EVENT_TYPES.connected;
/** The first frame of a stream opened with retryMs 100 at `id`: shared, or not. */
const sharedOpening = (id: string) => `event: connected\nid: ${id}\nretry: 100\n: connected\ndata: null\n\n`;
const plainOpening = (id: string) => `id: ${id}\nretry: 100\n: connected\n\n`;
const topicQuery = (...topics: string[]) => topics.map((t) => `&topic=${encodeURIComponent(t)}`).join('');
/** What each event of `type` carried as its EventSource `data`, unparsed. */
const rawDataOf = (client: StreamClient, type: string) => client.ofType(type).map((e) => e.rawData);

/** A 400 JSON answer before any stream byte, whose message matches `message`. */
function expectInvalid(res: RawResponse, message: RegExp): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 400 });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).not.toMatch(/^retry:|^: |^event:|^data:|^id:/m);
  expect(JSON.parse(res.body)).toMatchObject({
    statusCode: 400,
    error: 'Bad Request',
    message: expect.stringMatching(message),
  });
}

/** One instance's app and the helpers that open streams on it. */
function streamsOn(server: () => RunningApp, clients: StreamClient[]) {
  const sse = () => server().app.get(SseService);
  const url = (user: string, query = '') => `${server().baseUrl}/api/events?token=${signToken(user)}${query}`;
  /** A real EventSource, open and registered by the server (so a publish right after reaches it). */
  async function open(user: string, query = ''): Promise<StreamClient> {
    const before = sse().connectionCount(user);
    const client = new StreamClient(url(user, query), ['order', CONNECTED]);
    clients.push(client);
    await client.opened();
    await waitForCount(() => sse().connectionCount(user), 0, before + 1);
    return client;
  }
  return { sse, url, open };
}

describe.each(ADAPTERS)('shared streams (?shared=1) on %s', (adapter) => {
  let server: RunningApp;
  const clients: StreamClient[] = [];
  const { sse, url, open } = streamsOn(() => server, clients);
  beforeAll(async () => {
    server = await startTopicsApp({ retryMs: 100, maxConnectionsPerUser: 3 }, { adapter });
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitForCount(() => sse().connectionCount(), 0);
  });
  afterAll(() => server.close());

  it("a shared stream gets each topic event's data as topic\\njson, its user's events and broadcasts as they are; an unshared stream on the same topic gets plain data", async () => {
    const tagged = await open('tess', topicQuery('feeds/a', 'feeds/b') + TAG);
    const plain = await open('pat', topicQuery('feeds/a'));
    const raw = await openRaw(url('rita', topicQuery('feeds/a') + TAG));
    try {
      await waitForCount(() => sse().connectionCount('rita'), 1);
      expect(sse().publish('feeds/a', { type: 'order', data: { orderId: '1' } })).toBe(3);
      expect(sse().publish('feeds/b', { type: 'order', data: { orderId: '2' } })).toBe(1);
      sse().sendToUser('tess', { type: 'update', data: { to: 'tess' } });
      sse().broadcast({ type: 'update', data: 'all' });
      await tagged.until(() => tagged.ofType('update').length === 2, 5000, 'the tagged stream');
      await plain.until(() => plain.ofType('update').length === 1, 5000, 'the plain stream');

      expect(rawDataOf(tagged, 'order')).toEqual(['feeds/a\n{"orderId":"1"}', 'feeds/b\n{"orderId":"2"}']);
      expect(rawDataOf(tagged, 'order').map(untagTopicData)).toEqual([
        { topic: 'feeds/a', data: '{"orderId":"1"}' },
        { topic: 'feeds/b', data: '{"orderId":"2"}' },
      ]);
      expect(rawDataOf(tagged, 'update')).toEqual(['{"to":"tess"}', '"all"']);
      expect(rawDataOf(tagged, 'update').map((data) => untagTopicData(data).topic)).toEqual([undefined, undefined]);
      expect(rawDataOf(plain, 'order')).toEqual(['{"orderId":"1"}']);
      expect(rawDataOf(plain, 'update')).toEqual(['"all"']);

      // On the wire: two data lines for the topic event; the opening and the broadcast as on any stream.
      const id = tagged.ofType('order')[0].lastEventId;
      const broadcastId = tagged.ofType('update')[1].lastEventId;
      const expected = `event: order\nid: ${id}\ndata: feeds/a\ndata: {"orderId":"1"}\n\nevent: update\nid: ${broadcastId}\ndata: "all"\n\n`;
      await waitForCount(() => (raw.body().endsWith(expected) ? 1 : 0), 1);
      expect(raw.body()).toMatch(/^event: connected\nid: \S+\nretry: 100\n: connected\ndata: null\n\nevent: order\n/);
    } finally {
      raw.destroy();
    }
  });

  /** Opens a plain EventSource for user `watch` and broadcasts once: the id of that broadcast, the present. */
  async function presentId(): Promise<string> {
    const watch = await open('watch');
    const seen = watch.ofType('update').length;
    sse().broadcast({ type: 'update', data: 'now' });
    await watch.until(() => watch.ofType('update').length === seen + 1, 5000, 'the broadcast');
    const id = watch.ofType('update')[seen].lastEventId;
    watch.close();
    await waitForCount(() => sse().connectionCount('watch'), 0);
    return id;
  }

  it('a fresh shared stream opens with a connected event at the present: on the wire, and to an EventSource, with that id', async () => {
    const now = await presentId();
    const raw = await openRaw(url('oona', topicQuery('feeds/o') + TAG));
    try {
      expect(raw.status).toBe(200);
      await waitForCount(() => (raw.body().endsWith('\n\n') ? 1 : 0), 1);
      expect(raw.body()).toBe(sharedOpening(now));

      const client = await open('olaf', topicQuery('feeds/o') + TAG);
      await client.until(() => client.ofType(CONNECTED).length === 1, 5000, 'the connected event');
      expect(client.events).toEqual([{ type: CONNECTED, data: null, rawData: 'null', lastEventId: now }]);

      // Then the stream goes on as any: the next event follows the opening.
      sse().publish('feeds/o', { type: 'update', data: 1 });
      await client.until(() => client.ofType('update').length === 1, 5000, 'the event after the opening');
      await waitForCount(() => (raw.body().endsWith('data: feeds/o\ndata: 1\n\n') ? 1 : 0), 1);
      expect(raw.body().startsWith(sharedOpening(now) + 'event: update\n')).toBe(true);
      expect(client.events.map((e) => e.type)).toEqual([CONNECTED, 'update']);
    } finally {
      raw.destroy();
    }
  });

  it("an unshared stream's opening is unchanged: a comment with the id, no connected event", async () => {
    const now = await presentId();
    const raw = await openRaw(url('uma', topicQuery('feeds/u')));
    const client = await open('ugo', topicQuery('feeds/u'));
    try {
      await waitForCount(() => (raw.body().endsWith('\n\n') ? 1 : 0), 1);
      expect(raw.body()).toBe(plainOpening(now));
      sse().publish('feeds/u', { type: 'update', data: 1 });
      await client.until(() => client.ofType('update').length === 1, 5000, 'the event');
      expect(client.events.map((e) => e.type)).toEqual(['update']);
      await waitForCount(() => (raw.body().endsWith('data: 1\n\n') ? 1 : 0), 1);
      expect(raw.body()).not.toMatch(/event: connected|data: null/);
    } finally {
      raw.destroy();
    }
  });

  it('a resumed shared stream opens with a connected event carrying the resume id, then the replay', async () => {
    const first = await open('rosa', topicQuery('feeds/q') + TAG);
    sse().publish('feeds/q', { type: 'update', data: 0 });
    await first.until(() => first.ofType('update').length === 1);
    const seenId = first.ofType('update')[0].lastEventId;
    first.close();
    await waitForCount(() => sse().connectionCount('rosa'), 0);
    sse().publish('feeds/q', { type: 'update', data: 1 });
    sse().sendToUser('rosa', { type: 'update', data: 2 });

    const raw = await openRaw(`${url('rosa', topicQuery('feeds/q') + TAG)}&lastEventId=${seenId}`);
    const again = await open('rosa', `${topicQuery('feeds/q')}${TAG}&lastEventId=${seenId}`);
    try {
      await again.until(() => again.ofType('update').length === 2, 5000, 'the replay');
      expect(again.events.map((e) => [e.type, e.rawData])).toEqual([
        [CONNECTED, 'null'],
        ['update', 'feeds/q\n1'],
        ['update', '2'],
      ]);
      expect(again.events[0].lastEventId).toBe(seenId);
      const [one, two] = again.ofType('update').map((e) => e.lastEventId);
      await waitForCount(() => (raw.body().endsWith('data: 2\n\n') ? 1 : 0), 1);
      expect(raw.body()).toBe(
        `${sharedOpening(seenId)}event: update\nid: ${one}\ndata: feeds/q\ndata: 1\n\nevent: update\nid: ${two}\ndata: 2\n\n`,
      );
    } finally {
      raw.destroy();
    }
  });

  it("a resume after a Last-Event-ID replays the topic events tagged, the user's own plain, then goes on live tagged", async () => {
    const first = await open('rene', topicQuery('feeds/r') + TAG);
    sse().publish('feeds/r', { type: 'update', data: 0 });
    await first.until(() => first.ofType('update').length === 1);
    expect(rawDataOf(first, 'update')).toEqual(['feeds/r\n0']);
    const seenId = first.ofType('update')[0].lastEventId;
    first.close();
    await waitForCount(() => sse().connectionCount('rene'), 0);
    sse().publish('feeds/r', { type: 'update', data: 1 });
    sse().sendToUser('rene', { type: 'update', data: 2 });
    sse().publish('feeds/other', { type: 'update', data: 'not subscribed' });
    sse().publish('feeds/r', { type: 'update', data: 3 });

    const again = await open('rene', `${topicQuery('feeds/r')}${TAG}&lastEventId=${seenId}`);
    await again.until(() => again.ofType('update').length === 3, 5000, 'the replay');
    sse().publish('feeds/r', { type: 'update', data: 4 });
    await again.until(() => again.ofType('update').length === 4, 5000, 'the live event');
    expect(again.ofType('reset')).toEqual([]);
    expect(rawDataOf(again, 'update')).toEqual(['feeds/r\n1', '2', 'feeds/r\n3', 'feeds/r\n4']);
  });

  it.each([
    ['another value', '&shared=2', /shared must be 1.*"2"/],
    ['an empty value', '&shared=', /shared must be 1/],
    ['a repeated parameter', '&shared=1&shared=1', /shared must be given at most once/],
  ])('%s is a 400 before any stream byte, no slot taken', async (_, query, message) => {
    expectInvalid(await rawGet(url('bad', topicQuery('feeds/a') + query)), message);
    expect(sse().connectionCount('bad')).toBe(0);
  });

  describe('through a ticket', () => {
    const path = () => `${server.baseUrl}/api/events`;
    const ticketFor = async (user: string, query: string): Promise<string> => {
      const res = await fetch(`${path()}?${query.replace(/^&/, '')}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${signToken(user)}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()).ticket;
    };

    it("GET ?ticket=…&shared=1 streams the ticket's topics tagged, after a connected event", async () => {
      const ticket = await ticketFor('tina', topicQuery('feeds/t'));
      const client = new StreamClient(`${path()}?ticket=${ticket}${TAG}`, [CONNECTED]);
      clients.push(client);
      await client.opened();
      await waitForCount(() => sse().connectionCount('tina'), 1);
      expect(sse().publish('feeds/t', { type: 'update', data: 'by ticket' })).toBe(1);
      sse().sendToUser('tina', { type: 'update', data: 'to tina' });
      await client.until(() => client.ofType('update').length === 2, 5000, 'the events');
      expect(rawDataOf(client, 'update')).toEqual(['feeds/t\n"by ticket"', '"to tina"']);
      expect(client.events.map((e) => e.type)).toEqual([CONNECTED, 'update', 'update']);
    });

    it('GET ?ticket=…&shared=2 is a 400 that leaves the ticket unused', async () => {
      const ticket = await ticketFor('tina', topicQuery('feeds/t'));
      expectInvalid(await rawGet(`${path()}?ticket=${ticket}&shared=2`), /shared must be 1/);
      const res = await rawGet(`${path()}?ticket=${ticket}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/: connected/);
    });
  });

  it("HEAD on a shared stream's URL answers what its GET would, before any byte and without a slot: 403 for a refused topic, 401 for a bad token, 200 otherwise (the browser client's leader asks it after a refusal an EventSource does not explain)", async () => {
    const refused = await rawHead(url('hugo', topicQuery('feeds/a', 'orders/o-unknown') + TAG));
    expect(refused.status).toBe(403);
    const badToken = await rawHead(`${server.baseUrl}/api/events?token=not-a-jwt${topicQuery('feeds/a')}${TAG}`);
    expect(badToken.status).toBe(401);
    const allowed = await rawHead(url('hugo', topicQuery('feeds/a') + TAG));
    expect(allowed).toMatchObject({ status: 200, type: expect.stringMatching(/^text\/event-stream/) });
    expect(sse().connectionCount('hugo')).toBe(0);
  });

  it("SseService.stream(userId, { shared: true }) opens an app's own stream with a connected event and tags it; without it, the opening is a comment and the same event plain", async () => {
    const received = { tagged: [] as SseFrame[], plain: [] as SseFrame[] };
    const subscriptions: Subscription[] = [
      sse()
        .stream('own', { topics: ['feeds/own'], shared: true })
        .subscribe((f) => received.tagged.push(f as SseFrame)),
      sse()
        .stream('own', { topics: ['feeds/own'] })
        .subscribe((f) => received.plain.push(f as SseFrame)),
    ];
    try {
      expect(sse().publish('feeds/own', { type: 'update', data: { n: 1 } })).toBe(2);
      sse().sendToUser('own', { type: 'update', data: { n: 2 } });
      const updates = (frames: SseFrame[]) => frames.filter((f) => f.type === 'update').map((f) => f.data);
      expect(updates(received.tagged)).toEqual(['feeds/own\n{"n":1}', '{"n":2}']);
      expect(updates(received.plain)).toEqual(['{"n":1}', '{"n":2}']);
      // Both opened at the same present: the same opening id, written as a connected event or as a comment.
      const [sharedOpen, plainOpen] = [received.tagged[0], received.plain[0]];
      expect(sharedOpen.id).toMatch(/^\d+-\d+$/);
      expect(plainOpen.id).toBe(sharedOpen.id);
      expect(sharedOpen.text).toBe(sharedOpening(sharedOpen.id!));
      expect(plainOpen.text).toBe(plainOpening(sharedOpen.id!));
    } finally {
      subscriptions.forEach((s) => s.unsubscribe());
    }
  });
});

/** A store that keeps events outside the process: it gives back plain fields, with the topic of a topic's event. */
class SerialisingStore implements SseHistoryStore {
  private readonly inner = new MemoryHistoryStore({ maxEvents: 100, ttlMs: 60_000 });
  append(record: SseHistoryRecord): void {
    this.inner.append(record);
  }
  async replay(userId: string, after: SseEventId, topics?: readonly string[]): Promise<SseReplayResult> {
    // eslint-disable-next-line @typescript-eslint/await-thenable -- MemoryHistoryStore.replay is synchronous; awaiting it is harmless
    const result = await this.inner.replay(userId, after, topics);
    if (!result.ok) return result;
    const frames = result.frames.map(({ type, id, data, topic }) =>
      JSON.parse(JSON.stringify({ type, id, data, topic })),
    );
    return { ok: true, frames };
  }
}

describe('shared streams replayed from a store that serialises frames', () => {
  let server: RunningApp;
  const clients: StreamClient[] = [];
  const { sse, open } = streamsOn(() => server, clients);
  beforeAll(async () => {
    server = await startTopicsApp({ retryMs: 100, history: { store: new SerialisingStore() } });
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitForCount(() => sse().connectionCount(), 0);
  });
  afterAll(() => server.close());

  it("keeps the topic the store gives back: the resume is tagged, the user's own event plain", async () => {
    const first = await open('sam', topicQuery('feeds/s') + TAG);
    sse().publish('feeds/s', { type: 'update', data: 0 });
    await first.until(() => first.ofType('update').length === 1);
    const seenId = first.ofType('update')[0].lastEventId;
    first.close();
    await waitForCount(() => sse().connectionCount('sam'), 0);
    sse().publish('feeds/s', { type: 'update', data: 1 });
    sse().sendToUser('sam', { type: 'update', data: 2 });

    const again = await open('sam', `${topicQuery('feeds/s')}${TAG}&lastEventId=${seenId}`);
    await again.until(() => again.ofType('update').length === 2, 5000, 'the replay');
    expect(again.ofType('reset')).toEqual([]);
    expect(rawDataOf(again, 'update')).toEqual(['feeds/s\n1', '2']);
  });
});

const describeRedis = hasRedisServer() || process.env.CI === 'true' ? describe : describe.skip;
if (!hasRedisServer() && process.env.CI !== 'true') {
  console.warn('test/shared-stream.e2e-spec.ts: the Redis case is skipped, redis-server is not installed');
}

describeRedis('shared streams on the Redis transport (two instances in this process)', () => {
  let redis: TestRedisServer;
  let a: RunningApp;
  let b: RunningApp;
  const clients: StreamClient[] = [];
  const onA = streamsOn(() => a, clients);
  const onB = streamsOn(() => b, clients);
  const start = (url: string) =>
    startTopicsApp({ retryMs: 100, transport: new RedisSseTransport({ redis: url }) }, { adapter: 'express' });
  beforeAll(async () => {
    redis = await startRedisServer();
    [a, b] = await Promise.all([start(redis.url), start(redis.url)]);
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitForCount(() => onA.sse().connectionCount() + onB.sse().connectionCount(), 0);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  it('live topic events from the other instance arrive tagged; a resume on the other instance replays them tagged from Redis history', async () => {
    const tagged = await onA.open('ray', topicQuery('feeds/x') + TAG);
    const plain = await onA.open('pia', topicQuery('feeds/x'));
    onB.sse().publish('feeds/x', { type: 'update', data: 0 });
    await tagged.until(() => tagged.ofType('update').length === 1, 5000, 'the live event on the tagged stream');
    await plain.until(() => plain.ofType('update').length === 1, 5000, 'the live event on the plain stream');
    expect(rawDataOf(tagged, 'update')).toEqual(['feeds/x\n0']);
    expect(rawDataOf(plain, 'update')).toEqual(['0']);

    const seenId = tagged.ofType('update')[0].lastEventId;
    tagged.close();
    await waitForCount(() => onA.sse().connectionCount('ray'), 0);
    onA.sse().publish('feeds/x', { type: 'update', data: 1 });
    onA.sse().sendToUser('ray', { type: 'update', data: 2 });
    onA.sse().broadcast({ type: 'update', data: 3 });
    onA.sse().publish('feeds/y', { type: 'update', data: 'not subscribed' });
    // Every one of them in Redis and read by B before the resume asks it.
    await plain.until(() => plain.ofType('update').length === 3, 5000, 'the events to reach A');

    const again = await onB.open('ray', `${topicQuery('feeds/x')}${TAG}&lastEventId=${seenId}`);
    await again.until(() => again.ofType('update').length === 3, 5000, 'the replay');
    onA.sse().publish('feeds/x', { type: 'update', data: 4 });
    await again.until(() => again.ofType('update').length === 4, 5000, 'the live event after the replay');
    expect(again.ofType('reset')).toEqual([]);
    expect(rawDataOf(again, 'update')).toEqual(['feeds/x\n1', '2', '3', 'feeds/x\n4']);
  });
});
