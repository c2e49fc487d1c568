import { createSseClient } from '@nest-sse/client';
import {
  SseAuthGuard,
  SseLifecycleHub,
  SseModule,
  type SseModuleOptions,
  SseRoute,
  SseService,
  SseStreamUser,
  type SseUser,
} from '@nest-sse/server';
import { RedisSseTransport } from '@nest-sse/server/redis';
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Injectable,
  type MessageEvent,
  Module,
  Query,
  Req,
  ServiceUnavailableException,
  Sse,
  UseGuards,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventSource } from 'eventsource';
import { concat, merge, type Observable, of, share } from 'rxjs';

import { ConditionWaiter } from './support/condition-waiter.js';
import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { type AdapterName, ADAPTERS, createApp } from './support/nest-app.factory.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from './support/redis-server.js';
import { openRaw, waitForCount } from './support/sse-client.js';

/** What the app's routes were asked, in order: each stream request's resume position, as sent. */
const asked: Array<{ path: string; header?: string; query?: string }> = [];
/** Stream GETs still to refuse with a 503 (a refused reconnect: the client then recovers with `?lastEventId=`). */
let refuseNext = 0;

@Injectable()
class RecordingGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<{ method: string; url: string; headers: Record<string, string> }>();
    if (request.method !== 'GET') return true;
    const url = new URL(request.url, 'http://x');
    asked.push({
      path: url.pathname,
      header: request.headers['last-event-id'],
      query: url.searchParams.get('lastEventId') ?? undefined,
    });
    if (refuseNext > 0) {
      refuseNext--;
      throw new ServiceUnavailableException('refused by the test');
    }
    return true;
  }
}

/** A second stream each `/own/stash-bare` handler made without its request, by user: the test subscribes it later. */
const stashed = new Map<string, Observable<MessageEvent>>();
/** The user whose stream every `/own/with-shared` route shares. */
const SHARED_FEED = 'shared-feed';

/** An app's own stream routes, each written the way an app might write it. */
@Controller('own')
@UseGuards(SseAuthGuard, RecordingGuard)
class OwnStreamsController {
  /** One stream for every request of `/own/with-shared`, made outside any handler. */
  private readonly sharedFeed: Observable<MessageEvent>;

  constructor(private readonly sse: SseService) {
    this.sharedFeed = sse.stream(SHARED_FEED).pipe(share());
  }

  @SseRoute('stream-request')
  streamWithRequest(@SseStreamUser() user: SseUser, @Req() request: object): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { request });
  }

  @SseRoute('stream-bare')
  streamBare(@SseStreamUser() user: SseUser): Observable<MessageEvent> {
    return this.sse.stream(user.userId);
  }

  @SseRoute('open-request')
  openWithRequest(@SseStreamUser() user: SseUser, @Req() request: object): Promise<Observable<MessageEvent>> {
    return this.sse.openStream(user.userId, { request });
  }

  @SseRoute('open-bare')
  openBare(@SseStreamUser() user: SseUser): Promise<Observable<MessageEvent>> {
    return this.sse.openStream(user.userId);
  }

  /** Wrapped, without its request: the sink's request reaches the stream inside. */
  @SseRoute('wrapped-bare')
  async wrappedBare(@SseStreamUser() user: SseUser): Promise<Observable<MessageEvent>> {
    return concat(of({ type: 'update', data: 'hello' }), await this.sse.openStream(user.userId));
  }

  /** Makes two streams without its request, returns one: the other is subscribed later, outside the sink. */
  @SseRoute('stash-bare')
  stashBare(@SseStreamUser() user: SseUser): Observable<MessageEvent> {
    stashed.set(user.userId, this.sse.stream(user.userId));
    return this.sse.stream(user.userId);
  }

  /** Its own stream, and a stream shared by every request of the route (made outside the handler). */
  @SseRoute('with-shared')
  withShared(@SseStreamUser() user: SseUser): Observable<MessageEvent> {
    return merge(this.sharedFeed, this.sse.stream(user.userId));
  }

  /** Nest's own @Sse(): only the request given tells the stream where to resume. */
  @Sse('nest-request')
  nestWithRequest(@SseStreamUser() user: SseUser, @Req() request: object): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { request });
  }

  /** `?from=<id>` overrides the request, `?from=now` (null) ignores it. */
  @SseRoute('override')
  override(
    @SseStreamUser() user: SseUser,
    @Req() request: object,
    @Query('from') from?: string,
  ): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { request, lastEventId: from === 'now' ? null : from });
  }
}

const ROUTES = ['stream-request', 'stream-bare', 'open-request', 'open-bare', 'wrapped-bare', 'nest-request'] as const;
const TRANSPORTS = ['memory', 'redis'] as const;
const MAX_EVENTS = 5;

let redis: TestRedisServer | undefined;
let prefixes = 0;
const redisMissing = !hasRedisServer();

async function startApp(
  adapter: AdapterName,
  transport: (typeof TRANSPORTS)[number],
  options: Partial<SseModuleOptions> = {},
): Promise<RunningApp> {
  const onTransport: Partial<SseModuleOptions> =
    transport === 'redis'
      ? {
          transport: new RedisSseTransport({
            redis: (redis ??= await startRedisServer()).url,
            keyPrefix: `own-resume-${process.pid}-${++prefixes}:`,
            history: { maxEvents: MAX_EVENTS },
          }),
        }
      : { history: { maxEvents: MAX_EVENTS } };
  @Module({
    imports: [
      SseModule.forRoot({
        jwt: { secret: TEST_SECRET },
        heartbeatIntervalMs: 0,
        retryMs: 50,
        ...onTransport,
        ...options,
      }),
    ],
    controllers: [OwnStreamsController],
  })
  class OwnResumeModule {}
  const moduleRef = await Test.createTestingModule({ imports: [OwnResumeModule] }).compile();
  return listen(createApp(moduleRef, { adapter }));
}

afterAll(async () => {
  await redis?.dispose();
});

/** A raw stream (real socket), its body as written, and a wait for what it should receive. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const stream = await openRaw(url, headers);
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

const NOTIFICATION = /event: notification\nid: (\S+)\ndata: (\S+)\n\n/g;
/** The notifications a body holds, as `data` and `id`, in order. */
function notifications(body: string): Array<{ id: string; data: string }> {
  return [...body.matchAll(NOTIFICATION)].map(([, id, data]) => ({ id, data: JSON.parse(data) as string }));
}
function resets(body: string): string[] {
  return [...body.matchAll(/event: reset\nid: \S+\ndata: \{"reason":"([^"]+)"/g)].map(([, reason]) => reason);
}

/** A stream subscribed by the test itself, outside any route: the notifications it gets. */
function subscribeHere(stream: Observable<MessageEvent>) {
  const got: string[] = [];
  const changes = new ConditionWaiter();
  const subscription = stream.subscribe((message) => {
    const frame = message as { type?: string; data?: string };
    if (frame.type !== 'notification') return;
    got.push(JSON.parse(frame.data ?? 'null') as string);
    changes.notify();
  });
  return { got, subscription, until: (data: string) => changes.until(() => got.includes(data), 5000, data) };
}

for (const transport of TRANSPORTS) {
  const describeTransport = transport === 'redis' && redisMissing ? describe.skip : describe;
  describeTransport.each(ADAPTERS)(
    `an app's own stream route resumes from the request by default (%s, ${transport} transport)`,
    (adapter) => {
      let server: RunningApp;
      let sse: SseService;
      let users = 0;
      beforeAll(async () => {
        server = await startApp(adapter, transport);
        sse = server.app.get(SseService);
      });
      afterAll(() => server?.close());

      const urlOf = (path: string, user: string, query = '') =>
        `${server.baseUrl}${path}?token=${signToken(user)}${query}`;

      /**
       * A user who received `n1` on a stream that then closed, and missed `n2` and `n3`: returns
       * the ids of all three (`n2`'s and `n3`'s read from the module's own route, which replays them).
       */
      async function userWhoMissedTwo(): Promise<{ user: string; ids: string[] }> {
        const user = `${adapter}-${transport}-${++users}`;
        const first = await openStream(urlOf('/api/events', user));
        await waitForCount(() => sse.connectionCount(user), 1);
        sse.sendToUser(user, { type: 'notification', data: 'n1' });
        await first.until((body) => notifications(body).length === 1, 'n1');
        first.destroy();
        await waitForCount(() => sse.connectionCount(user), 0);
        sse.sendToUser(user, { type: 'notification', data: 'n2' });
        sse.sendToUser(user, { type: 'notification', data: 'n3' });
        const [n1] = notifications(first.body());
        const probe = await openStream(urlOf('/api/events', user, `&lastEventId=${n1.id}`));
        await probe.until((body) => notifications(body).length === 2, 'n2 and n3 from the module route');
        probe.destroy();
        await waitForCount(() => sse.connectionCount(user), 0);
        return { user, ids: [n1.id, ...notifications(probe.body()).map((e) => e.id)] };
      }

      /** Opens the route, then publishes `live` and waits for it: what came before it is what the resume gave. */
      async function resumed(
        path: string,
        user: string,
        query: string,
        headers: Record<string, string> = {},
      ): Promise<string> {
        const stream = await openStream(urlOf(path, user, query), headers);
        try {
          expect(stream.status).toBe(200);
          await waitForCount(() => sse.connectionCount(user), 1);
          sse.sendToUser(user, { type: 'notification', data: 'live' });
          await stream.until((body) => body.includes('data: "live"\n'), 'the live event');
          return stream.body();
        } finally {
          stream.destroy();
          await waitForCount(() => sse.connectionCount(user), 0);
        }
      }

      const datas = (body: string) => notifications(body).map((e) => e.data);

      describe.each(ROUTES)('/own/%s', (route) => {
        const path = `/own/${route}`;

        it('replays what was missed after ?lastEventId=<id> (how SseClient and a reloaded page resume), in order, once, then goes on live', async () => {
          const { user, ids } = await userWhoMissedTwo();
          const body = await resumed(path, user, `&lastEventId=${ids[0]}`);
          expect(datas(body)).toEqual(['n2', 'n3', 'live']);
          expect(resets(body)).toEqual([]);
        });

        it('replays what was missed after a Last-Event-ID header (how an EventSource reconnects by itself)', async () => {
          const { user, ids } = await userWhoMissedTwo();
          const body = await resumed(path, user, '', { 'last-event-id': ids[0] });
          expect(datas(body)).toEqual(['n2', 'n3', 'live']);
        });

        it('takes the Last-Event-ID header over the query parameter, as the module route does', async () => {
          const { user, ids } = await userWhoMissedTwo();
          const body = await resumed(path, user, `&lastEventId=${ids[0]}`, { 'last-event-id': ids[1] });
          expect(datas(body)).toEqual(['n3', 'live']);
        });

        it('answers an id from before this server started with the reset the module route sends, then goes on live', async () => {
          const user = `${adapter}-${transport}-${++users}`;
          const own = await resumed(path, user, '&lastEventId=1000-0');
          const module = await resumed('/api/events', user, '&lastEventId=1000-0');
          expect(resets(module)).toEqual(['unknown-id']);
          expect(resets(own)).toEqual(resets(module));
          expect(datas(own)).toEqual(['live']);
        });

        it('answers an id whose followers left history with the reset the module route sends (too-old)', async () => {
          const { user, ids } = await userWhoMissedTwo();
          for (let i = 0; i < MAX_EVENTS + 1; i++) sse.sendToUser(user, { type: 'notification', data: `m${i}` });
          // The module route first, so the events are in the cluster's history before the own route reads it.
          const module = await resumed('/api/events', user, `&lastEventId=${ids[0]}`);
          const own = await resumed(path, user, `&lastEventId=${ids[0]}`);
          expect(resets(module)).toEqual(['too-old']);
          expect(resets(own)).toEqual(['too-old']);
        });

        it.each([
          ['malformed', '&lastEventId=evil%0D%0Aevent%3A%20forged'],
          ['repeated', '&lastEventId=ID1&lastEventId=ID2'],
        ])(
          'answers a %s lastEventId with a malformed-id reset, and the id never reaches the wire',
          async (_, query) => {
            const { user, ids } = await userWhoMissedTwo();
            const body = await resumed(path, user, query.replace('ID1', ids[0]).replace('ID2', ids[1]));
            expect(resets(body)).toEqual(['malformed-id']);
            expect(datas(body)).toEqual(['live']);
            // eslint-disable-next-line no-control-regex -- \u0000 checks that no NUL byte from the forged id reached the body
            expect(body).not.toMatch(/evil|forged|\u0000/);
            expect(body).not.toContain(ids[0]);
            expect(body).not.toContain(ids[1]);
          },
        );
      });

      describe("a stream that is not the route's own does not resume from its request", () => {
        it('neither a stream() made and subscribed outside any route after an @SseRoute() subscribe, nor one the handler made but the test subscribed later', async () => {
          const { user, ids } = await userWhoMissedTwo();
          const route = await openStream(urlOf('/own/stash-bare', user), { 'last-event-id': ids[0] });
          expect(route.status).toBe(200);
          // The route's own stream resumed from its header.
          await route.until((body) => datas(body).length === 2, 'the replay of n2 and n3');
          const later = subscribeHere(sse.stream(user));
          const stashedByHandler = subscribeHere(stashed.get(user)!);
          try {
            await waitForCount(() => sse.connectionCount(user), 3);
            sse.sendToUser(user, { type: 'notification', data: 'live' });
            await route.until((body) => body.includes('data: "live"\n'), 'the live event on the route');
            await later.until('live');
            await stashedByHandler.until('live');
            expect(datas(route.body())).toEqual(['n2', 'n3', 'live']);
            expect(later.got).toEqual(['live']);
            expect(stashedByHandler.got).toEqual(['live']);
          } finally {
            later.subscription.unsubscribe();
            stashedByHandler.subscription.unsubscribe();
            route.destroy();
            await waitForCount(() => sse.connectionCount(user), 0);
          }
        });

        it("a stream shared by the route's requests (share(), made outside the handler): first subscribed in one request's sink, it resumes from neither request's id", async () => {
          const first = await userWhoMissedTwo();
          // Published to the shared stream's user after the first request's id: a resume from it would replay this.
          sse.sendToUser(SHARED_FEED, { type: 'notification', data: 'before' });
          // (Whose live n1, published after it, tells that it went through the cluster's transport before the streams open.)
          const second = await userWhoMissedTwo();
          const a = await openStream(urlOf('/own/with-shared', first.user), { 'last-event-id': first.ids[0] });
          const b = await openStream(urlOf('/own/with-shared', second.user, `&lastEventId=${second.ids[0]}`));
          try {
            expect([a.status, b.status]).toEqual([200, 200]);
            // Each request's own stream replayed its two (from a cluster's history, after the streams joined).
            await a.until((body) => datas(body).length >= 2, "the first request's replay");
            await b.until((body) => datas(body).length >= 2, "the second request's replay");
            expect(sse.connectionCount(SHARED_FEED)).toBe(1);
            sse.sendToUser(SHARED_FEED, { type: 'notification', data: 'shared-live' });
            await a.until(
              (body) => body.includes('data: "shared-live"\n'),
              'the shared live event on the first request',
            );
            await b.until(
              (body) => body.includes('data: "shared-live"\n'),
              'the shared live event on the second request',
            );
            // Each request's own stream resumed from its own id; the shared one from neither.
            expect(datas(a.body())).toEqual(['n2', 'n3', 'shared-live']);
            expect(datas(b.body())).toEqual(['n2', 'n3', 'shared-live']);
            // The first request leaves: the shared stream goes on for the second.
            a.destroy();
            await waitForCount(() => sse.connectionCount(first.user), 0);
            sse.sendToUser(SHARED_FEED, { type: 'notification', data: 'after' });
            await b.until((body) => body.includes('data: "after"\n'), 'the shared stream after the first request left');
            expect(datas(b.body())).toEqual(['n2', 'n3', 'shared-live', 'after']);
          } finally {
            a.destroy();
            b.destroy();
            await waitForCount(() => sse.connectionCount(SHARED_FEED), 0);
          }
        });

        it("a stream a lifecycle listener makes and subscribes as the route's stream connects starts from now", async () => {
          const { user, ids } = await userWhoMissedTwo();
          let side: ReturnType<typeof subscribeHere> | undefined;
          let made = false;
          const stop = server.app.get(SseLifecycleHub).listen({
            connected: ({ userId }) => {
              if (userId !== user || made) return;
              made = true;
              side = subscribeHere(sse.stream(user));
            },
          });
          const route = await openStream(urlOf('/own/stream-bare', user, `&lastEventId=${ids[0]}`));
          try {
            expect(route.status).toBe(200);
            await waitForCount(() => sse.connectionCount(user), 2);
            sse.sendToUser(user, { type: 'notification', data: 'live' });
            await route.until((body) => body.includes('data: "live"\n'), 'the live event on the route');
            await side!.until('live');
            expect(datas(route.body())).toEqual(['n2', 'n3', 'live']);
            expect(side!.got).toEqual(['live']);
          } finally {
            stop();
            side?.subscription.unsubscribe();
            route.destroy();
            await waitForCount(() => sse.connectionCount(user), 0);
          }
        });
      });

      describe('an explicit lastEventId', () => {
        it('wins over the header and the query parameter', async () => {
          const { user, ids } = await userWhoMissedTwo();
          const body = await resumed('/own/override', user, `&from=${ids[1]}&lastEventId=${ids[0]}`, {
            'last-event-id': ids[0],
          });
          expect(datas(body)).toEqual(['n3', 'live']);
        });

        it('null starts from now, whatever the request says (no replay, no reset)', async () => {
          const { user, ids } = await userWhoMissedTwo();
          const body = await resumed('/own/override', user, `&from=now&lastEventId=${ids[0]}`, {
            'last-event-id': ids[0],
          });
          expect(datas(body)).toEqual(['live']);
          expect(resets(body)).toEqual([]);
        });

        it('left out, the override route resumes from the request like any other', async () => {
          const { user, ids } = await userWhoMissedTwo();
          const body = await resumed('/own/override', user, `&lastEventId=${ids[0]}`);
          expect(datas(body)).toEqual(['n2', 'n3', 'live']);
        });
      });
    },
  );
}

describe.each(ADAPTERS)("SseClient on an app's own @SseRoute() route (%s)", (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  beforeAll(async () => {
    server = await startApp(adapter, 'memory', { history: { maxEvents: 1000 } });
    sse = server.app.get(SseService);
  });
  afterAll(() => server?.close());

  it.each(['stream-request', 'open-bare'])(
    '/own/%s: the server closes the stream twice while events are published, the second reconnect refused (503): the client ends with every event once, in order',
    async (route) => {
      const user = `client-${adapter}-${route}`;
      const received: number[] = [];
      const client = createSseClient(`${server.baseUrl}/own/${route}`, {
        EventSource: EventSource,
        getToken: () => signToken(user),
        backoff: { initialMs: 150, jitter: 0 },
        handlers: { notification: (data) => received.push((data as { n: number }).n) },
      });
      let n = 0;
      const publish = (count: number) => {
        for (let i = 0; i < count; i++) sse.sendToUser(user, { type: 'notification', data: { n: ++n } });
      };
      try {
        await waitForCount(() => sse.connectionCount(user), 1);
        const before = asked.length;
        publish(5);
        // The EventSource reconnects by itself, with the Last-Event-ID header.
        expect(sse.disconnectUser(user)).toBe(1);
        publish(5);
        await waitForCount(() => sse.connectionCount(user), 1);
        publish(5);
        // Its own reconnect is refused: the client recovers with a new EventSource and ?lastEventId=.
        refuseNext = 1;
        expect(sse.disconnectUser(user)).toBe(1);
        publish(5);
        await waitForCount(() => received.length, n);
        publish(5);
        await waitForCount(() => received.length, n);
        expect(received).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        const reconnects = asked.slice(before).filter((a) => a.path === `/own/${route}`);
        // Both ways of resuming were taken: the header (the EventSource's own), then the query (the client's recovery).
        expect(reconnects.some((a) => a.header !== undefined && a.query === undefined)).toBe(true);
        expect(reconnects.some((a) => a.header === undefined && a.query !== undefined)).toBe(true);
      } finally {
        refuseNext = 0;
        client.close();
      }
    },
  );
});
