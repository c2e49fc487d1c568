import { compareEventIds, parseEventId, SSE_LIMITS, SseService, SseTopic, type SseUser } from '@nest-sse/server';
import type { Subscription } from 'rxjs';

import { ConditionWaiter } from './support/condition-waiter.js';
import { type RunningApp, signToken } from './support/demo-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { openRaw, rawGet, type RawResponse, StreamClient, waitForCount } from './support/sse-client.js';
import { initWithPolicies, startTopicsApp, type TopicAccess } from './support/topics-app.js';

/** `&topic=…` for each topic, encoded. */
const topicQuery = (...topics: string[]) => topics.map((t) => `&topic=${encodeURIComponent(t)}`).join('');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Nothing of a stream: no `retry:`, no comment, no frame. */
function expectNoStreamBytes(res: RawResponse): void {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).not.toMatch(/^retry:|^: |^event:|^data:|^id:/m);
}

/** A 403 JSON answer before any stream byte, naming exactly `topics`. */
function expectForbidden(res: RawResponse, topics: string[]): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 403 });
  expectNoStreamBytes(res);
  const body = JSON.parse(res.body);
  expect(body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
  expect(body.topics).toEqual(topics);
  for (const topic of topics) expect(body.message).toContain(topic);
}

/** A 400 JSON answer before any stream byte, whose message matches `message`. */
function expectInvalid(res: RawResponse, message: RegExp): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 400 });
  expectNoStreamBytes(res);
  const body = JSON.parse(res.body);
  expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  expect(body.message).toMatch(message);
}

/** Every line the process writes while `run` runs (Nest's logger writes to stdout and stderr). */
async function captureOutput(run: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const stream of ['stdout', 'stderr'] as const) {
    const original = originals[stream];
    process[stream].write = (chunk: unknown, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return (original as (...args: unknown[]) => boolean).call(process[stream], chunk, ...rest);
    };
  }
  try {
    await run();
  } finally {
    process.stdout.write = originals.stdout;
    process.stderr.write = originals.stderr;
  }
  return lines.join('');
}

/** `data` of the events of `type` a client received. */
const dataOf = (client: StreamClient, type: string) => client.ofType(type).map((e) => e.data);

const MAX_PER_USER = 3;

describe.each(ADAPTERS)('topics on %s', (adapter) => {
  let server: RunningApp;
  let access: TopicAccess;
  let sse: SseService;
  const clients: StreamClient[] = [];
  beforeAll(async () => {
    ({ access, ...server } = await startTopicsApp({ retryMs: 100, maxConnectionsPerUser: MAX_PER_USER }, { adapter }));
    sse = server.app.get(SseService);
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitForCount(() => sse.connectionCount(), 0);
    // No test leaves a topic behind, whatever it did.
    expect(sse.topicCount()).toBe(0);
  });
  afterAll(() => server.close());

  const url = (user: string, query = '') => `${server.baseUrl}/api/events?token=${signToken(user)}${query}`;

  /** A real EventSource of `user` on `topics`, open and registered by the server (so a publish right after reaches it). */
  async function open(user: string, topics: string[] = [], query = ''): Promise<StreamClient> {
    const before = sse.connectionCount(user);
    const client = new StreamClient(url(user, topicQuery(...topics) + query));
    clients.push(client);
    await client.opened();
    await waitForCount(() => sse.connectionCount(user), 0, before + 1);
    return client;
  }

  describe('authorisation', () => {
    it('a sync policy allows by parameter: the owner of order 1 receives publish("orders/1"), and publish counts its streams', async () => {
      access.orderOwners.set('1', 'olga');
      const client = await open('olga', ['orders/1']);
      expect(sse.publish('orders/1', { type: 'update', data: { order: 1, status: 'shipped' } })).toBe(1);
      await client.until(() => client.ofType('update').length === 1, 5000, 'the topic event');
      expect(dataOf(client, 'update')).toEqual([{ order: 1, status: 'shipped' }]);
      // A second stream of the owner on the same topic: the topic reaches both.
      const second = await open('olga', ['orders/1']);
      expect(sse.publish('orders/1', { type: 'update', data: 'two' })).toBe(2);
      await second.until(() => second.ofType('update').length === 1, 5000, 'the second stream');
      await client.until(() => client.ofType('update').length === 2, 5000, 'the first stream');
    });

    it('an async policy allows a member: the stream receives the board topic', async () => {
      access.boardMembers.set('b1', new Set(['bob']));
      const client = await open('bob', ['boards/b1']);
      expect(sse.publish('boards/b1', { type: 'update', data: 'card moved' })).toBe(1);
      await client.until(() => client.ofType('update').length === 1, 5000, 'the board event');
      expect(dataOf(client, 'update')).toEqual(['card moved']);
    });

    it('a stream may subscribe to several allowed topics at once, by sync and async policies', async () => {
      access.orderOwners.set('m1', 'mia');
      access.boardMembers.set('m1', new Set(['mia']));
      const client = await open('mia', ['orders/m1', 'boards/m1', 'feeds/m1']);
      expect(sse.publish('orders/m1', { type: 'update', data: 'order' })).toBe(1);
      expect(sse.publish('boards/m1', { type: 'update', data: 'board' })).toBe(1);
      expect(sse.publish('feeds/m1', { type: 'update', data: 'feed' })).toBe(1);
      await client.until(() => client.ofType('update').length === 3, 5000, 'the three topics');
      expect(dataOf(client, 'update')).toEqual(['order', 'board', 'feed']);
    });

    it.each([
      ['sync, not the owner', () => access.orderOwners.set('2', 'someone-else'), 'orders/2'],
      ['async, not a member', () => access.boardMembers.set('b2', new Set(['someone-else'])), 'boards/b2'],
    ])(
      'a refusing policy (%s): 403 naming the topic, before any stream byte, no slot taken',
      async (_, setup, topic) => {
        setup();
        const res = await rawGet(url('olga', topicQuery(topic)));
        expectForbidden(res, [topic]);
        expect(sse.connectionCount('olga')).toBe(0);
      },
    );

    it('one refused topic refuses the whole connect, and the 403 names every refused topic (not only the first), in order', async () => {
      access.orderOwners.set('3', 'olga');
      access.boardMembers.set('b3', new Set(['bob']));
      const refused = ['orders/4', 'boards/b3', 'nothing/declared', 'broken/1', 'truthy/one'];
      const res = await rawGet(
        url('olga', topicQuery('orders/3', refused[0], refused[1], 'feeds/x', ...refused.slice(2))),
      );
      expectForbidden(res, refused);
      expect(JSON.parse(res.body).message).not.toContain('orders/3');
      expect(sse.connectionCount('olga')).toBe(0);
      expect(sse.topicCount()).toBe(0);
    });

    it.each([['nothing/declared'], ['orders'], ['orders/1/items'], ['Orders/1']])(
      'a topic no declaration matches (%s) is a 403',
      async (topic) => {
        access.orderOwners.set('1', 'olga');
        expectForbidden(await rawGet(url('olga', topicQuery(topic))), [topic]);
      },
    );

    it.each([['truthy/one'], ['truthy/string'], ['truthy/object']])(
      'a policy returning a truthy value that is not true (%s) refuses: 403',
      async (topic) => {
        expectForbidden(await rawGet(url('tess', topicQuery(topic))), [topic]);
      },
    );

    it('a throwing policy: 403 (its message not sent), the error logged with the topic and never the token', async () => {
      const token = signToken('thrower');
      let res: RawResponse | undefined;
      const logged = await captureOutput(async () => {
        res = await rawGet(`${server.baseUrl}/api/events?token=${token}${topicQuery('broken/7')}`);
      });
      expectForbidden(res!, ['broken/7']);
      expect(res!.body).not.toContain('exploded');
      const line = logged.split('\n').find((l) => l.includes('broken/7'));
      expect(line).toBeDefined();
      expect(line).toMatch(/policy exploded/);
      expect(logged).not.toContain(token);
      expect(sse.connectionCount('thrower')).toBe(0);
    });

    it(`refused connects take no slot: after 12 refused ones the user still opens ${MAX_PER_USER} streams, and one more is a 429`, async () => {
      access.orderOwners.set('cap', 'other');
      const refusing = ['orders/cap', 'boards/none', 'nothing/declared', 'broken/cap', 'truthy/one', 'truthy/string'];
      for (let round = 0; round < 2; round++) {
        for (const topic of refusing) {
          expect((await rawGet(url('capped', topicQuery(topic)))).status).toBe(403);
          expect(sse.connectionCount('capped')).toBe(0);
        }
      }
      // Concurrent refusals too: none of them holds anything while its policy runs.
      const parallel = await Promise.all(refusing.map((t) => rawGet(url('capped', topicQuery(t)))));
      expect(parallel.map((r) => r.status)).toEqual(refusing.map(() => 403));
      for (let i = 0; i < MAX_PER_USER; i++) await open('capped', ['feeds/cap']);
      expect(sse.connectionCount('capped')).toBe(MAX_PER_USER);
      const over = await rawGet(url('capped', topicQuery('feeds/cap')));
      expect(over.status).toBe(429);
    });

    it('concurrent connects on an async policy each get their own answer', async () => {
      access.boardMembers.set('race', new Set(['r0', 'r2', 'r4']));
      const users = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
      const answers = await Promise.all(users.map((u) => openRaw(url(u, topicQuery('boards/race')))));
      try {
        expect(answers.map((a) => a.status)).toEqual([200, 403, 200, 403, 200, 403]);
        await waitForCount(() => sse.connectionCount(), 3);
        expect(sse.publish('boards/race', { type: 'update', data: 'x' })).toBe(3);
      } finally {
        answers.forEach((a) => a.destroy());
      }
    });

    it('authorisation runs again on reconnect: once the owner loses the order, the EventSource is refused (403) and stops', async () => {
      access.orderOwners.set('9', 'olga');
      const client = await open('olga', ['orders/9']);
      sse.publish('orders/9', { type: 'update', data: 'placed' });
      await client.until(() => client.ofType('update').length === 1, 5000, 'the first event');
      const asked = access.asked.length;
      access.orderOwners.delete('9');
      sse.disconnectUser('olga');
      // A 403 is final for an EventSource: it reports the error and closes for good (readyState 2).
      await client.until(() => client.readyState === 2, 5000, 'the reconnect to be refused');
      expect(access.asked.slice(asked)).toEqual(['orders/9']);
      expect(client.opens).toBe(1);
      expect(sse.connectionCount('olga')).toBe(0);
    });
  });

  describe('topic names', () => {
    const tooLong = `feeds/${'x'.repeat(SSE_LIMITS.topicLength - 'feeds/'.length + 1)}`;
    const tooMany = Array.from({ length: SSE_LIMITS.topicsPerStream + 1 }, (_, i) => `feeds/n${i}`);
    const badName = /SSE topic .*not allowed/;
    it.each([
      ['empty', topicQuery(''), /non-empty/],
      ['a//b', topicQuery('a//b'), badName],
      ['/a', topicQuery('/a'), badName],
      ['a/ (trailing slash)', topicQuery('a/'), badName],
      ['a b (a space)', topicQuery('a b'), badName],
      ['feeds/a b (a policy would allow it)', topicQuery('feeds/a b'), badName],
      ['feeds/ (an empty segment a :param would bind)', topicQuery('feeds/'), badName],
      ['feeds/é (not ASCII)', topicQuery('feeds/é'), badName],
      ['feeds/a\\0 (a NUL)', topicQuery('feeds/a\u0000'), badName],
      [
        `longer than ${SSE_LIMITS.topicLength}`,
        topicQuery(tooLong),
        new RegExp(`longer than ${SSE_LIMITS.topicLength}`),
      ],
      [
        `${SSE_LIMITS.topicsPerStream + 1} topics`,
        topicQuery(...tooMany),
        new RegExp(`at most ${SSE_LIMITS.topicsPerStream} topics`),
      ],
      ['a good one beside a bad one', topicQuery('feeds/ok', 'a//b'), badName],
    ])('%s: a 400 saying why, before any byte, and no policy is asked', async (_, query, message) => {
      const asked = access.asked.length;
      expectInvalid(await rawGet(url('namer', query)), message);
      expect(access.asked.length).toBe(asked);
      expect(sse.connectionCount('namer')).toBe(0);
    });

    it(`the limits are inclusive: a ${SSE_LIMITS.topicLength}-character topic and ${SSE_LIMITS.topicsPerStream} topics are accepted; a repeated topic counts once`, async () => {
      const longest = `feeds/${'x'.repeat(SSE_LIMITS.topicLength - 'feeds/'.length)}`;
      const long = await open('limits', [longest]);
      expect(sse.publish(longest, { type: 'update', data: 'long' })).toBe(1);
      await long.until(() => long.ofType('update').length === 1);

      const most = tooMany.slice(0, SSE_LIMITS.topicsPerStream);
      const many = await open('limits', [...most, most[0]]);
      for (const topic of most) expect(sse.publish(topic, { type: 'update', data: topic })).toBe(1);
      await many.until(() => many.ofType('update').length === most.length);
      expect(dataOf(many, 'update')).toEqual(most);
    });

    it('with the default query parser, topic[x]=1 is not a topic: the stream opens subscribed to nothing, no policy asked', async () => {
      const asked = access.asked.length;
      const res = await openRaw(url('brackets', '&topic[x]=feeds/x'));
      try {
        // Express's and Fastify's default parsers keep `topic[x]` as its own key, which the route ignores.
        expect(res.status).toBe(200);
        await waitForCount(() => sse.connectionCount('brackets'), 1);
        expect(sse.topicCount()).toBe(0);
        expect(access.asked.length).toBe(asked);
      } finally {
        res.destroy();
      }
    });
  });

  describe('with a query parser that reads brackets into objects', () => {
    let extended: RunningApp;
    let extendedAccess: TopicAccess;
    beforeAll(async () => {
      ({ access: extendedAccess, ...extended } = await startTopicsApp({}, { adapter, extendedQuery: true }));
    });
    afterAll(() => extended.close());

    it('topic[x]=1 (an object, not text) is a 400 and reaches no policy', async () => {
      const asked = extendedAccess.asked.length;
      const res = await rawGet(`${extended.baseUrl}/api/events?token=${signToken('obj')}&topic[x]=feeds/x`);
      expectInvalid(res, /topic must be a query parameter of plain text/);
      expect(extendedAccess.asked.length).toBe(asked);
    });

    it('topic[]= (an array of text, as qs reads it) is the repeated form: the stream subscribes to each', async () => {
      const sse = extended.app.get(SseService);
      const asked = extendedAccess.asked.length;
      const res = await openRaw(
        `${extended.baseUrl}/api/events?token=${signToken('arr')}&topic[]=feeds/a&topic[]=feeds/b`,
      );
      try {
        expect(res.status).toBe(200);
        await waitForCount(() => sse.connectionCount('arr'), 1);
        expect(sse.topicCount()).toBe(2);
        expect(extendedAccess.asked.slice(asked)).toEqual(['feeds/a', 'feeds/b']);
      } finally {
        res.destroy();
      }
    });
  });

  describe('isolation', () => {
    it("only streams subscribed to a topic get its events: not other users, not the same user's other stream, not another topic (until a later marker)", async () => {
      const subscribed = await open('iso', ['feeds/iso']);
      const sameUserNoTopic = await open('iso');
      const otherUser = await open('iso-other');
      const otherTopic = await open('iso-other', ['feeds/iso-2']);
      expect(sse.publish('feeds/iso', { type: 'update', data: 'topic event' })).toBe(1);
      // The markers go out after the topic event: each stream's events are in order, so once
      // a stream has its marker, a topic event for it would already have arrived.
      sse.sendToUser('iso', { type: 'notification', data: 'marker' });
      sse.sendToUser('iso-other', { type: 'notification', data: 'marker' });
      for (const client of [subscribed, sameUserNoTopic, otherUser, otherTopic]) {
        await client.until(() => client.ofType('notification').length === 1, 5000, 'the marker');
      }
      expect(dataOf(subscribed, 'update')).toEqual(['topic event']);
      expect(dataOf(sameUserNoTopic, 'update')).toEqual([]);
      expect(dataOf(otherUser, 'update')).toEqual([]);
      expect(dataOf(otherTopic, 'update')).toEqual([]);
    });

    it("after reconnecting without the topic (new EventSource, lastEventId): the user's missed events replayed, the topic's neither replayed nor live (until a later marker)", async () => {
      const first = await open('leaver', ['feeds/left']);
      sse.publish('feeds/left', { type: 'update', data: 'seen' });
      await first.until(() => first.ofType('update').length === 1);
      const seenId = first.events[0].lastEventId;
      first.close();
      await waitForCount(() => sse.connectionCount('leaver'), 0);

      sse.publish('feeds/left', { type: 'update', data: 'missed topic' });
      sse.sendToUser('leaver', { type: 'notification', data: 'missed own' });
      const later = await open('leaver', [], `&lastEventId=${seenId}`);
      await later.until(() => later.ofType('notification').length === 1, 5000, 'the replayed own event');
      expect(sse.publish('feeds/left', { type: 'update', data: 'live topic' })).toBe(0);
      sse.sendToUser('leaver', { type: 'notification', data: 'marker' });
      await later.until(() => later.ofType('notification').length === 2, 5000, 'the marker');
      expect(dataOf(later, 'notification')).toEqual(['missed own', 'marker']);
      expect(dataOf(later, 'update')).toEqual([]);
      expect(later.ofType('reset')).toEqual([]);
    });

    it("a raw reconnect with a Last-Event-ID header and no topic gets the user's missed event and nothing of the topic (until a later marker)", async () => {
      const first = await open('header', ['feeds/hdr']);
      sse.publish('feeds/hdr', { type: 'update', data: 'seen' });
      await first.until(() => first.ofType('update').length === 1);
      const seenId = first.events[0].lastEventId;
      first.close();
      await waitForCount(() => sse.connectionCount('header'), 0);
      sse.publish('feeds/hdr', { type: 'update', data: 'topic-missed' });
      sse.sendToUser('header', { type: 'notification', data: 'own-missed' });

      const res = await openRaw(url('header'), { 'last-event-id': seenId });
      try {
        expect(res.status).toBe(200);
        await waitForCount(() => sse.connectionCount('header'), 1);
        sse.publish('feeds/hdr', { type: 'update', data: 'topic-live' });
        sse.sendToUser('header', { type: 'notification', data: 'own-marker' });
        await new ConditionWaiter().until(() => res.body().includes('own-marker'), 5000, 'the marker');
        expect(res.body()).toContain('own-missed');
        expect(res.body()).not.toContain('topic-');
      } finally {
        res.destroy();
      }
    });
  });

  describe('replay', () => {
    it('after the server drops the stream, the resume replays user + broadcast + topic events in one order, exactly once, and nothing of another topic', async () => {
      const client = await open('rep', ['feeds/r1', 'feeds/r2']);
      sse.sendToUser('rep', { type: 'update', data: { seq: 0 } });
      await client.until(() => client.ofType('update').length === 1, 5000, 'the first event');

      expect(sse.disconnectUser('rep')).toBe(1);
      // Published while the client is away, in one synchronous run: all of it comes by replay.
      let seq = 1;
      for (let round = 0; round < 10; round++) {
        sse.sendToUser('rep', { type: 'update', data: { seq: seq++ } });
        sse.publish('feeds/r3', { type: 'update', data: { other: 'topic' } });
        sse.broadcast({ type: 'update', data: { seq: seq++ } });
        sse.sendToUser('someone-else', { type: 'update', data: { other: 'user' } });
        sse.publish(round % 2 ? 'feeds/r1' : 'feeds/r2', { type: 'update', data: { seq: seq++ } });
        sse.sendToUsers(['rep', 'x'], { type: 'update', data: { seq: seq++ } });
      }
      const missed = seq;
      await client.until(() => client.opens === 2, 5000, 'the reconnect');
      await waitForCount(() => sse.connectionCount('rep'), 1);
      // Live again, on both topics.
      expect(sse.publish('feeds/r1', { type: 'update', data: { seq: seq++ } })).toBe(1);
      sse.broadcast({ type: 'update', data: { seq: seq++ } });
      await client.until(() => client.ofType('update').length >= seq, 5000, 'every event');
      sse.sendToUser('rep', { type: 'notification', data: 'marker' });
      await client.until(() => client.ofType('notification').length === 1, 5000, 'the marker');

      expect(missed).toBe(41);
      expect(client.ofType('reset')).toEqual([]);
      expect(dataOf(client, 'update')).toEqual(Array.from({ length: seq }, (_, i) => ({ seq: i })));
      // Ids strictly increase: one order across the three kinds.
      const ids = client.ofType('update').map((e) => parseEventId(e.lastEventId)!);
      ids.slice(1).forEach((id, i) => expect(compareEventIds(ids[i], id)).toBeLessThan(0));
    });

    it('a new EventSource with lastEventId and the topic gets the topic events it missed, with its own, in order', async () => {
      const first = await open('rep2', ['feeds/rr']);
      sse.publish('feeds/rr', { type: 'update', data: 0 });
      await first.until(() => first.ofType('update').length === 1);
      const seenId = first.events[0].lastEventId;
      first.close();
      await waitForCount(() => sse.connectionCount('rep2'), 0);
      sse.publish('feeds/rr', { type: 'update', data: 1 });
      sse.sendToUser('rep2', { type: 'update', data: 2 });
      sse.publish('feeds/other', { type: 'update', data: 'not subscribed' });
      sse.publish('feeds/rr', { type: 'update', data: 3 });

      const again = await open('rep2', ['feeds/rr'], `&lastEventId=${seenId}`);
      await again.until(() => again.ofType('update').length >= 3, 5000, 'the replay');
      sse.sendToUser('rep2', { type: 'notification', data: 'marker' });
      await again.until(() => again.ofType('notification').length === 1, 5000, 'the marker');
      expect(dataOf(again, 'update')).toEqual([1, 2, 3]);
    });
  });

  describe('tickets', () => {
    const path = () => `${server.baseUrl}/api/events`;
    async function postTicket(user: string, query: string): Promise<{ status: number; json: any }> {
      const res = await fetch(`${path()}?${query.replace(/^&/, '')}`, {
        method: 'POST',
        headers: bearer(signToken(user)),
      });
      return { status: res.status, json: await res.json() };
    }

    it('POST ?topic= issues a ticket that carries the topic: GET ?ticket= streams it', async () => {
      access.orderOwners.set('t1', 'tina');
      const issued = await postTicket('tina', topicQuery('orders/t1'));
      expect(issued.status).toBe(200);
      expect(issued.json.ticket).toEqual(expect.any(String));
      const client = new StreamClient(`${path()}?ticket=${issued.json.ticket}`);
      clients.push(client);
      await client.opened();
      await waitForCount(() => sse.connectionCount('tina'), 1);
      expect(sse.publish('orders/t1', { type: 'update', data: 'by ticket' })).toBe(1);
      await client.until(() => client.ofType('update').length === 1, 5000, 'the topic event');
      expect(dataOf(client, 'update')).toEqual(['by ticket']);
    });

    it('GET ?ticket=&topic= is a 400: a ticket carries its topics', async () => {
      access.orderOwners.set('t2', 'tina');
      const issued = await postTicket('tina', '');
      expect(issued.status).toBe(200);
      const res = await rawGet(`${path()}?ticket=${issued.json.ticket}${topicQuery('orders/t2')}`);
      expectInvalid(res, /ticket carries its topics/);
      expect(sse.connectionCount('tina')).toBe(0);
    });

    it('POST with a refused topic is a 403 naming it, and issues no ticket', async () => {
      access.orderOwners.set('t3', 'other');
      const issued = await postTicket('tina', topicQuery('feeds/ok', 'orders/t3'));
      expect(issued.status).toBe(403);
      expect(issued.json).toMatchObject({ statusCode: 403, topics: ['orders/t3'] });
      expect(issued.json.ticket).toBeUndefined();
    });

    it('POST with a bad topic name is a 400, and no policy is asked', async () => {
      const asked = access.asked.length;
      const res = await fetch(`${path()}?topic=a//b`, { method: 'POST', headers: bearer(signToken('tina')) });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toMatch(/not allowed/);
      expect(access.asked.length).toBe(asked);
    });

    it('a policy that refuses by the time the ticket is redeemed: the GET is a 403 before any byte', async () => {
      access.orderOwners.set('t4', 'tina');
      const issued = await postTicket('tina', topicQuery('orders/t4'));
      expect(issued.status).toBe(200);
      access.orderOwners.set('t4', 'new-owner');
      expectForbidden(await rawGet(`${path()}?ticket=${issued.json.ticket}`), ['orders/t4']);
      expect(sse.connectionCount('tina')).toBe(0);
    });
  });

  describe('cleanup', () => {
    it('300 streams over HTTP, ended by the client or the server, leave no topic behind', async () => {
      for (let batch = 0; batch < 15; batch++) {
        const users = Array.from({ length: 20 }, (_, i) => `h${i}`);
        const streams = await Promise.all(
          users.map((u, i) => openRaw(url(u, topicQuery(`feeds/h${batch}-${i % 4}`, 'feeds/h-all')))),
        );
        try {
          expect(streams.map((s) => s.status)).toEqual(users.map(() => 200));
          await waitForCount(() => sse.connectionCount(), users.length);
          expect(sse.topicCount()).toBe(5);
          expect(sse.publish('feeds/h-all', { type: 'update', data: batch })).toBe(users.length);
          // Every third batch the server ends the streams; the others the client does.
          if (batch % 3 === 2) users.forEach((u) => sse.disconnectUser(u));
        } finally {
          streams.forEach((s) => s.destroy());
        }
        await waitForCount(() => sse.connectionCount(), 0);
        await waitForCount(() => sse.topicCount(), 0);
      }
    });
  });

  describe('concurrency', () => {
    it("several users' streams on one topic each get every event once, in order", async () => {
      const users = ['c1', 'c2', 'c3', 'c4', 'c5'];
      const streams = [];
      for (const u of users) streams.push(await open(u, ['feeds/fan']));
      streams.push(await open('c1', ['feeds/fan']));
      const reached: number[] = [];
      for (let n = 0; n < 30; n++) reached.push(sse.publish('feeds/fan', { type: 'update', data: n }));
      expect(reached).toEqual(reached.map(() => streams.length));
      sse.broadcast({ type: 'notification', data: 'marker' });
      for (const client of streams) {
        await client.until(() => client.ofType('notification').length === 1, 5000, 'the marker');
        expect(dataOf(client, 'update')).toEqual(Array.from({ length: 30 }, (_, n) => n));
      }
    });
  });
});

describe('topic cleanup in process', () => {
  let server: RunningApp;
  let sse: SseService;
  beforeAll(async () => {
    ({ ...server } = await startTopicsApp({ maxConnectionsPerUser: 10 }));
    sse = server.app.get(SseService);
  });
  afterAll(() => server.close());

  it('10,000 subscribe/unsubscribe cycles of SseService.stream(userId, { topics }) leave topicCount() at 0', () => {
    const ROUNDS = 1000;
    const PER_ROUND = 10;
    for (let round = 0; round < ROUNDS; round++) {
      const held: Subscription[] = [];
      for (let i = 0; i < PER_ROUND; i++) {
        // Shared topics (one channel, several subscribers) and one of its own per stream.
        const topics = ['feeds/shared', `feeds/r${round % 7}`, `feeds/own-${round}-${i}`];
        held.push(sse.stream(`cycler-${i}`, { topics }).subscribe({ next: () => undefined }));
      }
      if (round % 100 === 0) {
        // While held, every topic is live: the count really counts.
        expect(sse.topicCount()).toBe(2 + PER_ROUND);
        expect(sse.publish('feeds/shared', { type: 'update', data: round })).toBe(PER_ROUND);
      }
      // Out of order, so the last subscriber of a shared channel is not always the first one.
      for (const i of [3, 0, 9, 1, 8, 2, 7, 4, 6, 5]) held[i].unsubscribe();
    }
    expect(sse.topicCount()).toBe(0);
    expect(sse.connectionCount()).toBe(0);
    expect(sse.publish('feeds/shared', { type: 'update', data: 'after' })).toBe(0);
    expect(sse.topicCount()).toBe(0);
  });

  it('a stream whose subscriber errors or completes on the server side leaves no topic either', () => {
    const subscriptions = Array.from({ length: 50 }, (_, i) =>
      sse
        .stream(`ender-${i % 5}`, { topics: [`feeds/end-${i}`] })
        .subscribe({ next: () => undefined, error: () => undefined }),
    );
    expect(sse.topicCount()).toBe(50);
    for (let i = 0; i < 5; i++) sse.disconnectUser(`ender-${i}`);
    expect(sse.topicCount()).toBe(0);
    subscriptions.forEach((s) => s.unsubscribe());
    expect(sse.topicCount()).toBe(0);
  });
});

describe('@SseTopic() declarations that fail the bootstrap', () => {
  @SseTopic('orders/:id')
  class AnyOrder {
    canSubscribe() {
      return true;
    }
  }
  @SseTopic('orders/special')
  class SpecialOrder {
    canSubscribe() {
      return true;
    }
  }
  @SseTopic('orders/:orderId')
  class SameShape {
    canSubscribe(_user: SseUser) {
      return true;
    }
  }
  @SseTopic('carts/:id')
  class NoMethod {}

  it("overlapping patterns ('orders/:id' and 'orders/special') fail app.init() with a message naming both", async () => {
    await expect(initWithPolicies([AnyOrder, SpecialOrder])).rejects.toThrow(
      /orders\/special.*orders\/:id|orders\/:id.*orders\/special/,
    );
  });

  it('two parameter patterns of the same shape overlap too', async () => {
    await expect(initWithPolicies([AnyOrder, SameShape])).rejects.toThrow(/overlaps/);
  });

  it('a declaration without canSubscribe fails app.init(), naming it', async () => {
    await expect(initWithPolicies([NoMethod])).rejects.toThrow(/carts\/:id.*canSubscribe/);
  });

  it('a bad pattern fails where it is written', () => {
    expect(() => SseTopic('orders//:id')).toThrow(TypeError);
    expect(() => SseTopic('orders/:id/:id')).toThrow(/appears twice/);
  });

  it('patterns that cannot match the same topic bootstrap side by side', async () => {
    @SseTopic('orders/:id/items')
    class Items {
      canSubscribe() {
        return true;
      }
    }
    await expect(initWithPolicies([AnyOrder, Items])).resolves.toBeUndefined();
  });
});
