import { SseModule, SseService } from '@nest-sse/server';
import {
  Controller,
  Headers as ReqHeaders,
  type MessageEvent,
  Module,
  Query,
  Req,
  Sse,
  UnauthorizedException,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Observable } from 'rxjs';

import { listen, type RunningApp, TEST_SECRET } from './support/demo-app.js';
import { rawGet, rawHead, sleep, StreamClient, waitForCount } from './support/sse-client.js';

/** A user's own @Sse() route (its own auth), fed by the module's per-user Observable. */
@Controller()
class MyEventsController {
  constructor(private readonly sse: SseService) {}

  @Sse('my/events')
  events(@Query('user') user: string, @ReqHeaders('last-event-id') lastEventId?: string): Observable<MessageEvent> {
    if (!user) throw new UnauthorizedException();
    return this.sse.stream(user, { lastEventId });
  }

  /** Given its request: a HEAD is answered by stream() itself, which Nest's pipeline cannot tell. */
  @Sse('my/checked')
  checked(@Query('user') user: string, @Req() request: object): Observable<MessageEvent> {
    if (!user) throw new UnauthorizedException();
    return this.sse.stream(user, { request });
  }
}

describe("the module's Observables in a user's own @Sse() handler", () => {
  let server: RunningApp;
  beforeAll(async () => {
    @Module({
      imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, maxConnectionsPerUser: 1 })],
      controllers: [MyEventsController],
    })
    class OwnModule {}
    const moduleRef = await Test.createTestingModule({ imports: [OwnModule] }).compile();
    server = await listen(moduleRef.createNestApplication({ logger: false }));
  });
  afterAll(() => server.close());

  it("delivers, resumes and releases through Nest's own @Sse() pipeline", async () => {
    const sse = server.app.get(SseService);
    const client = new StreamClient(`${server.baseUrl}/my/events?user=kim`);
    try {
      await client.opened();
      await waitForCount(() => sse.connectionCount('kim'), 1);
      sse.sendToUser('kim', { type: 'notification', data: { n: 1 } });
      sse.sendToUser('kim', { type: 'notification', data: { n: 2 } });
      await client.until(() => client.events.length === 2);
      expect(client.events.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
      // The per-user limit applies here too: Nest's exception filter answers before any byte.
      expect((await rawGet(`${server.baseUrl}/my/events?user=kim`)).status).toBe(429);
      const firstId = client.events[0].lastEventId;
      client.close();
      await waitForCount(() => sse.connectionCount('kim'), 0);
      const resumed = await rawGet(`${server.baseUrl}/my/events?user=kim`, { 'last-event-id': firstId });
      expect(resumed.body).toMatch(/event: notification\nid: \S+\ndata: \{"n":2\}\n\n/);
      expect(resumed.body).not.toMatch(/"n":1/);
    } finally {
      client.close();
    }
  });

  it("answers a HEAD as its GET when stream() is given the request: 200 without a slot, 429 at the user's limit (not counted as a refused stream)", async () => {
    const sse = server.app.get(SseService);
    const url = `${server.baseUrl}/my/checked?user=lou`;
    for (let i = 0; i < 3; i++)
      expect(await rawHead(url)).toEqual({ status: 200, type: expect.stringMatching(/^text\/event-stream/) });
    await sleep(200);
    expect(sse.connectionCount('lou')).toBe(0);
    const client = new StreamClient(url);
    try {
      await client.opened();
      await waitForCount(() => sse.connectionCount('lou'), 1);
      const refused = sse.stats().refused.per_user_limit;
      expect(await rawHead(url)).toMatchObject({ status: 429 });
      expect(sse.stats().refused.per_user_limit).toBe(refused);
      expect((await rawGet(url)).status).toBe(429);
      expect(sse.stats().refused.per_user_limit).toBe(refused + 1);
      expect(sse.connectionCount('lou')).toBe(1);
    } finally {
      client.close();
    }
  });
});
