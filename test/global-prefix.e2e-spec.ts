import { SseModule } from '@nest-sse/server';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { rawGet, rawHead } from './support/sse-client.js';

/**
 * The packages' READMEs state this rule: the route's `path` is joined with the app's global
 * prefix like any controller's, so the default `/api/events` under `setGlobalPrefix('api')` is
 * served at `/api/api/events`, and `path: '/events'` gives `/api/events` (the ticket POST and
 * the CORS middleware follow the route).
 */
async function appWithPrefix(adapter: (typeof ADAPTERS)[number], path?: string): Promise<RunningApp> {
  @Module({
    imports: [
      SseModule.forRoot({
        jwt: { secret: TEST_SECRET },
        heartbeatIntervalMs: 0,
        cors: { origins: ['https://app.example'] },
        path,
      }),
    ],
  })
  class PrefixedApp {}
  const moduleRef = await Test.createTestingModule({ imports: [PrefixedApp] }).compile();
  const app = createApp(moduleRef, { adapter, logger: false });
  app.setGlobalPrefix('api');
  return listen(app);
}

describe.each(ADAPTERS)("the stream route under setGlobalPrefix('api') on %s", (adapter) => {
  const token = signToken('ann');

  it('keeps the default path /api/events under the prefix: /api/api/events', async () => {
    const server = await appWithPrefix(adapter);
    try {
      expect((await rawHead(`${server.baseUrl}/api/api/events?token=${token}`)).status).toBe(200);
      expect((await rawHead(`${server.baseUrl}/api/events?token=${token}`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("serves path '/events' at /api/events: the stream, the ticket POST and the CORS middleware", async () => {
    const server = await appWithPrefix(adapter, '/events');
    try {
      const post = await fetch(`${server.baseUrl}/api/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(post.status).toBe(200);
      const { ticket } = (await post.json()) as { ticket: string };
      const res = await rawGet(`${server.baseUrl}/api/events?ticket=${ticket}`, { origin: 'https://app.example' }, 100);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
      expect((await rawHead(`${server.baseUrl}/events?token=${token}`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
