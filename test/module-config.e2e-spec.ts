import { SseModule, SseService } from '@nest-sse/server';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { rawGet, StreamClient } from './support/sse-client.js';

@Injectable()
class SettingsService {
  readonly secret = TEST_SECRET;
  readonly limit = 2;
}
@Module({ providers: [SettingsService], exports: [SettingsService] })
class SettingsModule {}

describe('SseModule.forRootAsync', () => {
  let server: RunningApp;
  beforeAll(async () => {
    @Module({
      imports: [
        SseModule.forRootAsync({
          path: '/custom/stream',
          imports: [SettingsModule],
          inject: [SettingsService],
          useFactory: (settings: SettingsService) => ({
            jwt: { secret: settings.secret, userIdClaim: 'uid' },
            maxConnectionsPerUser: settings.limit,
            retryMs: 1234,
            heartbeatIntervalMs: 0,
          }),
        }),
      ],
    })
    class AsyncAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AsyncAppModule] }).compile();
    server = await listen(moduleRef.createNestApplication({ logger: false }));
  });
  afterAll(() => server.close());

  it('takes its options from an injected factory and serves the configured path', async () => {
    const token = signToken(undefined, { uid: 'u-1' });
    const res = await rawGet(`${server.baseUrl}/custom/stream?token=${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/retry: 1234\n/);
    expect((await rawGet(`${server.baseUrl}/api/events?token=${token}`)).status).toBe(404);
    // The user id comes from the configured claim, not `sub`.
    expect((await rawGet(`${server.baseUrl}/custom/stream?token=${signToken('only-sub')}`)).status).toBe(401);
  });

  it('applies the injected connection limit', async () => {
    const url = `${server.baseUrl}/custom/stream?token=${signToken(undefined, { uid: 'u-2' })}`;
    const two = [new StreamClient(url), new StreamClient(url)];
    try {
      await Promise.all(two.map((c) => c.opened()));
      expect(server.app.get(SseService).connectionCount('u-2')).toBe(2);
      expect((await rawGet(url)).status).toBe(429);
    } finally {
      two.forEach((c) => c.close());
    }
  });

  it('refuses a configuration without a key', async () => {
    @Module({ imports: [SseModule.forRoot({ jwt: {} })] })
    class BrokenModule {}
    await expect(Test.createTestingModule({ imports: [BrokenModule] }).compile()).rejects.toThrow(/jwt.secret/);
  });
});
