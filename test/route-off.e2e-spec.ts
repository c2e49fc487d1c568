import { SseModule, SseService } from '@nest-sse/server';
import { Controller, type MessageEvent, Module, Query, Sse } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Observable } from 'rxjs';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { rawGet, StreamClient, waitForCount } from './support/sse-client.js';

/** The app's own stream route, the only one when the module's is off. */
@Controller()
class OwnStreamController {
  constructor(private readonly sse: SseService) {}

  @Sse('own/events')
  events(@Query('user') user: string): Observable<MessageEvent> {
    return this.sse.stream(user);
  }
}

describe.each(ADAPTERS)('SseModule with route: false on %s', (adapter) => {
  let server: RunningApp;
  beforeAll(async () => {
    @Module({
      imports: [
        SseModule.forRoot({
          jwt: { secret: TEST_SECRET },
          heartbeatIntervalMs: 0,
          cors: { origins: ['https://app.example'] },
          route: false,
        }),
      ],
      controllers: [OwnStreamController],
    })
    class OwnRoutesOnly {}
    const moduleRef = await Test.createTestingModule({ imports: [OwnRoutesOnly] }).compile();
    server = await listen(createApp(moduleRef, { adapter, logger: false }));
  });
  afterAll(() => server.close());

  it('serves nothing at the path: 404, and no CORS middleware there either', async () => {
    const res = await rawGet(`${server.baseUrl}/api/events?token=${signToken('ann')}`, {
      origin: 'https://app.example',
    });
    expect(res.status).toBe(404);
    expect(res.body).not.toMatch(/retry:/);
    // The module's CORS middleware echoes this origin and always adds Vary: Origin.
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['vary']).toBeUndefined();
  });

  it("keeps SseService: stream() feeds the app's own route", async () => {
    const sse = server.app.get(SseService);
    const client = new StreamClient(`${server.baseUrl}/own/events?user=kim`);
    try {
      await client.opened();
      await waitForCount(() => sse.connectionCount('kim'), 1);
      expect(sse.sendToUser('kim', { type: 'notification', data: { n: 1 } })).toBe(1);
      await client.until(() => client.events.length === 1);
      expect(client.events[0]).toMatchObject({ type: 'notification', data: { n: 1 } });
    } finally {
      client.close();
    }
    await waitForCount(() => sse.connectionCount('kim'), 0);
  });
});
