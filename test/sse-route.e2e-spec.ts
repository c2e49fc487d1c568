import type { ServerResponse } from 'node:http';

import { SseAuthGuard, SseModule, SseRoute, SseService, SseStreamUser, type SseUser } from '@nest-sse/server';
import {
  CallHandler,
  CanActivate,
  Controller,
  ExecutionContext,
  ForbiddenException,
  Header,
  Headers,
  Injectable,
  type MessageEvent,
  Module,
  type NestInterceptor,
  Param,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { concat, from, type Observable, of, Subject } from 'rxjs';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { type AdapterName, ADAPTERS, createApp } from './support/nest-app.factory.js';
import { rawGet, rawHead, StreamClient, waitForCount } from './support/sse-client.js';

/** A guard of the app's own, after the module's: only members of a project see its stream. */
@Injectable()
class ProjectMemberGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ params: { id: string } }>();
    if (request.params.id === 'secret') throw new ForbiddenException('not a member of this project');
    return true;
  }
}

/** Sends the response's head before the handler runs (Node's own response on Express). */
@Injectable()
class HeadFlushingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<{ raw?: ServerResponse } & ServerResponse>();
    (response.raw ?? response).flushHeaders();
    return next.handle();
  }
}

/** Messages an app builds itself, written by the same sink. */
const ownMessages = new Subject<MessageEvent>();

@Controller('projects')
@UseGuards(SseAuthGuard)
class ProjectEventsController {
  constructor(private readonly sse: SseService) {}

  @SseRoute(':id/events')
  @UseGuards(ProjectMemberGuard)
  @Header('X-Project-Stream', 'yes')
  events(
    @Param('id') id: string,
    @SseStreamUser() user: SseUser,
    @Headers('last-event-id') lastEventId?: string,
  ): Observable<MessageEvent> {
    return this.sse.stream(`${id}:${user.userId}`, { lastEventId, expiresAt: user.expiresAt });
  }

  /** Asynchronous handlers work too: the Promise goes back to Nest, its rejection to the filters. */
  @SseRoute(':id/later')
  async later(@Param('id') id: string, @SseStreamUser() user: SseUser): Promise<Observable<MessageEvent>> {
    await new Promise((resolve) => setImmediate(resolve));
    if (id === 'gone') throw new ForbiddenException('project gone');
    return this.sse.stream(`${id}:${user.userId}`);
  }

  @SseRoute(':id/own')
  own(): Observable<MessageEvent> {
    return concat(of({ type: 'update', data: { hello: 'plain' } }, { data: 'two\nlines' }), ownMessages);
  }

  @SseRoute(':id/unsafe')
  unsafe(): Observable<MessageEvent> {
    return from([{ type: 'bad type', data: '1' }]);
  }

  @SseRoute(':id/once')
  once(): Observable<MessageEvent> {
    // Completes as it is subscribed; plain values are the data of a message, as with Nest's @Sse().
    return of({ type: 'update', data: 'a' }, 'text' as unknown as MessageEvent, 42 as unknown as MessageEvent);
  }

  /** An interceptor of the app sends the head first: the sink cannot write its own. */
  @SseRoute(':id/head-sent')
  @UseInterceptors(HeadFlushingInterceptor)
  headSent(@Param('id') id: string, @SseStreamUser() user: SseUser): Observable<MessageEvent> {
    return this.sse.stream(`${id}:${user.userId}`);
  }

  @SseRoute(':id/not-a-stream')
  notAStream(): unknown {
    return { not: 'an observable' };
  }
}

async function start(adapter: AdapterName): Promise<RunningApp> {
  @Module({
    imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, maxConnectionsPerUser: 2 })],
    controllers: [ProjectEventsController],
    providers: [ProjectMemberGuard],
  })
  class ProjectsApp {}
  const moduleRef = await Test.createTestingModule({ imports: [ProjectsApp] }).compile();
  return listen(createApp(moduleRef, { adapter, logger: false }));
}

describe.each(ADAPTERS)("@SseRoute() on an app's own route (%s)", (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  const clients: StreamClient[] = [];
  beforeAll(async () => {
    server = await start(adapter);
    sse = server.app.get(SseService);
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitForCount(() => sse.connectionCount(), 0);
  });
  afterAll(() => server.close());

  const url = (route: string, user = 'ann') => `${server.baseUrl}/projects/${route}?token=${signToken(user)}`;
  const open = async (route: string, user = 'ann') => {
    const client = new StreamClient(url(route, user), ['update']);
    clients.push(client);
    await client.opened();
    return client;
  };

  it("streams what SseService.stream() gives, through the app's guards and headers, and resumes", async () => {
    const head = await rawGet(url('p1/events'));
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(head.headers['x-project-stream']).toBe('yes');
    expect(head.body).toMatch(/^id: \d+-\d+\nretry: 3000\n: connected\n\n/);

    const client = await open('p1/events');
    await waitForCount(() => sse.connectionCount('p1:ann'), 1);
    sse.sendToUser('p1:ann', { type: 'notification', data: { n: 1 } });
    sse.sendToUser('p1:bob', { type: 'notification', data: { n: 'not for ann' } });
    sse.sendToUser('p1:ann', { type: 'notification', data: { n: 2 } });
    await client.until(() => client.events.length >= 2);
    expect(client.events.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);

    const firstId = client.events[0].lastEventId;
    client.close();
    await waitForCount(() => sse.connectionCount('p1:ann'), 0);
    const resumed = await rawGet(url('p1/events'), { 'last-event-id': firstId });
    expect(resumed.body).toMatch(/event: notification\nid: \S+\ndata: \{"n":2\}\n\n/);
    expect(resumed.body).not.toMatch(/"n":1/);
  });

  it('answers 401, 403 and 429 as JSON before any stream byte', async () => {
    const noToken = await rawGet(`${server.baseUrl}/projects/p1/events`);
    expect(noToken.status).toBe(401);
    expect(noToken.body).not.toMatch(/retry:|event:|data:/);

    const forbidden = await rawGet(url('secret/events'));
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.body).message).toBe('not a member of this project');

    await open('p2/events');
    await open('p2/events');
    await waitForCount(() => sse.connectionCount('p2:ann'), 2);
    // SseService.stream() fails as it is subscribed; the sink subscribes before it writes anything.
    const third = await rawGet(url('p2/events'));
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body)).toMatchObject({ statusCode: 429, limit: 2 });
    expect(third.body).not.toMatch(/retry:|event:|data:/);
    expect(sse.connectionCount('p2:ann')).toBe(2);
  });

  it('takes an asynchronous handler, and answers its rejection through the filters', async () => {
    const client = await open('p3/later');
    await waitForCount(() => sse.connectionCount('p3:ann'), 1);
    sse.sendToUser('p3:ann', { type: 'update', data: 'later' });
    await client.until(() => client.events.length >= 1);
    expect(client.events[0].data).toBe('later');

    const gone = await rawGet(url('gone/later'));
    expect(gone.status).toBe(403);
    expect(JSON.parse(gone.body).message).toBe('project gone');
  });

  it("writes an app's own messages with the wire rules: objects as JSON, strings as lines", async () => {
    const client = await open('p4/own');
    await client.until(() => client.events.length >= 2);
    ownMessages.next({ type: 'update', data: { later: true } });
    await client.until(() => client.events.length >= 3);
    expect(client.events.map((e) => e.data)).toEqual([{ hello: 'plain' }, 'two\nlines', { later: true }]);

    const raw = await rawGet(url('p4/own'));
    expect(raw.body).toContain('event: update\ndata: {"hello":"plain"}\n\n');
    expect(raw.body).toContain('data: two\ndata: lines\n\n');
  });

  it('refuses a message whose type could break the stream, before any byte', async () => {
    const res = await rawGet(url('p5/unsafe'));
    expect(res.status).toBe(500);
    expect(res.body).not.toMatch(/bad type/);
  });

  it('ends the stream when the Observable completes as it is subscribed, after writing what it emitted', async () => {
    const res = await rawGet(url('p7/once'), {}, 2000);
    expect(res.status).toBe(200);
    expect(res.ended).toBe(true);
    expect(res.body).toBe('event: update\ndata: a\n\ndata: text\n\ndata: 42\n\n');
  });

  it('answers HEAD with the head alone: no stream, no slot', async () => {
    const head = () => rawHead(url('p8/events'));
    for (let i = 0; i < 3; i++)
      expect(await head()).toEqual({ status: 200, type: expect.stringMatching(/^text\/event-stream/) });
    expect(sse.connectionCount('p8:ann')).toBe(0);
    expect((await rawGet(url('p8/events'))).status).toBe(200);
  });

  it('frees the slot and ends the response when its head was already sent by someone else', async () => {
    const res = await rawGet(url('p9/head-sent'), {}, 2000);
    expect(res.body).not.toMatch(/retry:|event:|data:/);
    await waitForCount(() => sse.connectionCount('p9:ann'), 0);
    expect(sse.connectionCount('p9:ann')).toBe(0);
  });

  it('checks its own maxPendingDataLength when the route is declared', () => {
    expect(() => SseRoute('x', { maxPendingDataLength: Number.NaN })).toThrow(/@SseRoute\(\): maxPendingDataLength/);
    expect(() => SseRoute('x', { maxPendingDataLength: 0 })).toThrow(/maxPendingDataLength/);
  });

  it('answers a handler that returns no Observable with 500, before any byte', async () => {
    const res = await rawGet(url('p6/not-a-stream'));
    expect(res.status).toBe(500);
    expect(res.body).not.toMatch(/retry:|event:|data:/);
  });
});
