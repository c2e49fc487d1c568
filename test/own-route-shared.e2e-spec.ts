import { createSseClient, type SseClient } from '@nest-sse/client';
import { SseAuthGuard, SseModule, SseRoute, SseService, SseStreamUser, type SseUser } from '@nest-sse/server';
import { Controller, type MessageEvent, Module, Query, Req, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventSource } from 'eventsource';
import type { Observable } from 'rxjs';

import { ConditionWaiter } from './support/condition-waiter.js';
import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { openRaw, rawGet, type RawResponse, waitForCount } from './support/sse-client.js';

/**
 * An app's own stream route honours what the client asks
 * on the request, as the module's route does, without the handler reading it: a shared
 * stream (topic events tagged, the opening a `connected` event) for `?shared=1`, a 400
 * before any byte for a bad value, and the handler's own `shared` wins when it gives one.
 * `@nest-sse/client`'s shared-stream leader opens its stream with `?shared=1`.
 */

/** The `topic` query parameter as a list (an app's own route picking its topics from the URL). */
const topicsOf = (topic?: string | string[]): string[] => (topic === undefined ? [] : ([] as string[]).concat(topic));

/** Own stream routes; each takes its topics from `?topic=` (open to everyone here: a real app asks `SseTopicAuthorizer` first). */
@Controller('own')
@UseGuards(SseAuthGuard)
class OwnSharedController {
  constructor(private readonly sse: SseService) {}

  @SseRoute('open-request')
  openWithRequest(
    @SseStreamUser() user: SseUser,
    @Req() request: object,
    @Query('topic') topic?: string | string[],
  ): Promise<Observable<MessageEvent>> {
    return this.sse.openStream(user.userId, { request, topics: topicsOf(topic) });
  }

  @SseRoute('open-bare')
  openBare(
    @SseStreamUser() user: SseUser,
    @Query('topic') topic?: string | string[],
  ): Promise<Observable<MessageEvent>> {
    return this.sse.openStream(user.userId, { topics: topicsOf(topic) });
  }

  @SseRoute('stream-request')
  streamWithRequest(
    @SseStreamUser() user: SseUser,
    @Req() request: object,
    @Query('topic') topic?: string | string[],
  ): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { request, topics: topicsOf(topic) });
  }

  @SseRoute('stream-bare')
  streamBare(@SseStreamUser() user: SseUser, @Query('topic') topic?: string | string[]): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { topics: topicsOf(topic) });
  }

  /** The handler says: never shared, whatever the request asks. */
  @SseRoute('open-unshared')
  openUnshared(
    @SseStreamUser() user: SseUser,
    @Req() request: object,
    @Query('topic') topic?: string | string[],
  ): Promise<Observable<MessageEvent>> {
    return this.sse.openStream(user.userId, { request, topics: topicsOf(topic), shared: false });
  }

  /** The handler says: always shared, whatever the request asks. */
  @SseRoute('open-shared')
  openShared(
    @SseStreamUser() user: SseUser,
    @Req() request: object,
    @Query('topic') topic?: string | string[],
  ): Promise<Observable<MessageEvent>> {
    return this.sse.openStream(user.userId, { request, topics: topicsOf(topic), shared: true });
  }
}

const ROUTES = ['open-request', 'open-bare', 'stream-request', 'stream-bare'] as const;

/** A raw stream (real socket): its body as written, and a wait for what it should receive. */
async function openStream(url: string) {
  const stream = await openRaw(url);
  const changes = new ConditionWaiter();
  stream.response.on('data', () => changes.notify());
  return {
    status: stream.status,
    body: stream.body,
    until: (predicate: (body: string) => boolean, what: string) =>
      changes.until(() => predicate(stream.body()), 5000, what),
    destroy: stream.destroy,
  };
}

/** A 400 JSON answer before any stream byte, whose message matches `message`. */
function expectInvalid(res: RawResponse, message: RegExp): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 400 });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).not.toMatch(/^retry:|^: |^event:|^data:|^id:/m);
  expect(JSON.parse(res.body)).toMatchObject({ statusCode: 400, message: expect.stringMatching(message) });
}

const SHARED_OPENING = /^event: connected\nid: \S+\nretry: 50\n: connected\ndata: null\n\n/;
const PLAIN_OPENING = /^id: \S+\nretry: 50\n: connected\n\n/;

describe.each(ADAPTERS)("an app's own stream route honours ?shared=1 from the request (%s)", (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  let users = 0;
  beforeAll(async () => {
    @Module({
      imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, retryMs: 50, route: false })],
      controllers: [OwnSharedController],
    })
    class OwnSharedModule {}
    const moduleRef = await Test.createTestingModule({ imports: [OwnSharedModule] }).compile();
    server = await listen(createApp(moduleRef, { adapter }));
    sse = server.app.get(SseService);
  });
  afterAll(() => server?.close());

  const newUser = () => `${adapter}-shared-${++users}`;
  const urlOf = (route: string, user: string, query = '') =>
    `${server.baseUrl}/own/${route}?token=${signToken(user)}&topic=feeds/a${query}`;

  /** Opens the route, publishes to its topic, to its user and a broadcast: the body once all three arrived. */
  async function received(route: string, query: string): Promise<string> {
    const user = newUser();
    const stream = await openStream(urlOf(route, user, query));
    try {
      expect(stream.status).toBe(200);
      await waitForCount(() => sse.connectionCount(user), 1);
      expect(sse.publish('feeds/a', { type: 'update', data: { orderId: '1' } })).toBeGreaterThanOrEqual(1);
      sse.sendToUser(user, { type: 'update', data: 'mine' });
      sse.broadcast({ type: 'update', data: 'all' });
      await stream.until((body) => body.endsWith('data: "all"\n\n'), 'the broadcast');
      return stream.body();
    } finally {
      stream.destroy();
      await waitForCount(() => sse.connectionCount(user), 0);
    }
  }

  describe.each(ROUTES)('/own/%s', (route) => {
    it("?shared=1: a connected opening, then topic events tagged with their topic, the user's and broadcasts plain", async () => {
      const body = await received(route, '&shared=1');
      expect(body).toMatch(SHARED_OPENING);
      expect(body).toMatch(
        /event: update\nid: \S+\ndata: feeds\/a\ndata: \{"orderId":"1"\}\n\nevent: update\nid: \S+\ndata: "mine"\n\nevent: update\nid: \S+\ndata: "all"\n\n$/,
      );
    });

    it('without the parameter: unchanged (a plain opening, untagged data)', async () => {
      const body = await received(route, '');
      expect(body).toMatch(PLAIN_OPENING);
      expect(body).not.toMatch(/event: connected|data: feeds\/a/);
      expect(body).toMatch(
        /event: update\nid: \S+\ndata: \{"orderId":"1"\}\n\nevent: update\nid: \S+\ndata: "mine"\n\n/,
      );
    });

    it('?shared=2, or the parameter repeated: a 400 before any byte, no stream opened', async () => {
      const user = newUser();
      const refusedBefore = sse.stats().refused.bad_request;
      expectInvalid(await rawGet(urlOf(route, user, '&shared=2')), /shared must be 1/);
      expectInvalid(await rawGet(urlOf(route, user, '&shared=1&shared=1')), /shared must be given at most once/);
      expect(sse.connectionCount(user)).toBe(0);
      expect(sse.stats().refused.bad_request).toBe(refusedBefore + 2);
      // The user holds no slot: a good request still opens.
      const body = await received(route, '&shared=1');
      expect(body).toMatch(SHARED_OPENING);
    });
  });

  it("the handler's own shared: false wins over ?shared=1 (and a bad value is then not read)", async () => {
    const body = await received('open-unshared', '&shared=1');
    expect(body).toMatch(PLAIN_OPENING);
    expect(body).not.toMatch(/event: connected|data: feeds\/a/);
    const ignored = await received('open-unshared', '&shared=2');
    expect(ignored).toMatch(PLAIN_OPENING);
  });

  it("the handler's own shared: true wins over a request without the parameter", async () => {
    const body = await received('open-shared', '');
    expect(body).toMatch(SHARED_OPENING);
    expect(body).toMatch(/data: feeds\/a\ndata: \{"orderId":"1"\}\n\n/);
  });

  it('given a request with a bad shared: openStream() rejects with the 400, stream() errors with it at subscribe, taking no slot', async () => {
    const user = newUser();
    const request = { method: 'GET', headers: {}, query: { shared: '2' } };
    await expect(sse.openStream(user, { request })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/shared must be 1/),
    });
    const stream = sse.stream(user, { request: { ...request, query: { shared: ['1', '1'] } } });
    const failure = await new Promise<unknown>((resolve) =>
      stream.subscribe({ error: resolve, complete: () => resolve('completed') }),
    );
    expect(failure).toMatchObject({ status: 400, message: expect.stringMatching(/at most once/) });
    // Node's own request (no parsed query): the same rule from its URL.
    await expect(
      sse.openStream(user, { request: { method: 'GET', headers: {}, url: '/x?shared=1&shared=2' } }),
    ).rejects.toMatchObject({ status: 400 });
    expect(sse.connectionCount(user)).toBe(0);
  });

  describe.each(['open-request', 'stream-bare'] as const)('@nest-sse/client sharing one stream on /own/%s', (route) => {
    const clients: SseClient[] = [];
    afterEach(() => clients.splice(0).forEach((client) => client.close()));

    it("two clients with a topic each, on one stream: each receives its own topic's events, once, and the broadcasts", async () => {
      const user = newUser();
      const seen: Record<string, string[]> = { a: [], b: [] };
      const changes = new ConditionWaiter();
      for (const name of ['a', 'b'] as const) {
        clients.push(
          createSseClient(`${server.baseUrl}/own/${route}`, {
            EventSource: EventSource,
            getToken: () => signToken(user),
            topics: [`feeds/${name}`],
            // Node has BroadcastChannel but no Web Locks: the clients elect a leader with leases.
            share: { key: user, BroadcastChannel: globalThis.BroadcastChannel, locks: null },
            handlers: {
              update: (data) => {
                seen[name].push(String((data as { n: string }).n));
                changes.notify();
              },
            },
          }),
        );
        // Some ms apart: the oldest member wins the lease election.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const [a, b] = clients;
      await changes.until(() => a.status === 'open' && b.status === 'open', 10_000, 'both clients open');
      expect([a.shareRole, b.shareRole].sort()).toEqual(['follower', 'leader']);
      // One stream for both, subscribed to both topics.
      await waitForCount(() => sse.connectionCount(user), 1);
      for (let n = 1; n <= 3; n++) {
        sse.publish('feeds/a', { type: 'update', data: { n: `a${n}` } });
        sse.publish('feeds/b', { type: 'update', data: { n: `b${n}` } });
      }
      sse.broadcast({ type: 'update', data: { n: 'all' } });
      await changes.until(() => seen.a.includes('all') && seen.b.includes('all'), 5000, 'the broadcast on both');
      expect(seen).toEqual({ a: ['a1', 'a2', 'a3', 'all'], b: ['b1', 'b2', 'b3', 'all'] });
      expect(sse.connectionCount(user)).toBe(1);
    });
  });
});
