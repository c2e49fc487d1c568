import { SseModule, SseService } from '@nest-sse/server';
import { Module } from '@nestjs/common';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';

import { listen, type RunningApp, signToken } from './support/demo-app.js';
import { rawGet, StreamClient } from './support/sse-client.js';

/**
 * `jwt: { service }`: the app's own JwtService (its JwtModule holds the only copy of the key)
 * verifies the stream's tokens, under the stream's rules rather than the app's looser ones.
 */

const APP_SECRET = 'app-jwt-module-secret-for-e2e-only';
const ISSUER = 'https://app.test';

/**
 * The app's auth module, deliberately lax for its own uses: expiry and not-before ignored, HS512 allowed. The
 * stream must not inherit that; it does inherit the issuer, which its own options leave unset.
 */
@Module({
  imports: [
    JwtModule.register({
      secret: APP_SECRET,
      signOptions: { issuer: ISSUER },
      verifyOptions: { ignoreExpiration: true, ignoreNotBefore: true, algorithms: ['HS256', 'HS512'], issuer: ISSUER },
    }),
  ],
  exports: [JwtModule],
})
class AuthModule {}

@Module({
  imports: [
    AuthModule,
    SseModule.forRootAsync({
      imports: [AuthModule],
      inject: [JwtService],
      useFactory: (jwt: JwtService) => ({ jwt: { service: jwt, algorithms: ['HS256'] }, heartbeatIntervalMs: 0 }),
    }),
  ],
})
class AppModule {}

describe("SseModule with the app's JwtService (jwt.service)", () => {
  let server: RunningApp;
  let appJwt: JwtService;
  const url = (token: string) => `${server.baseUrl}/api/events?token=${token}`;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    server = await listen(moduleRef.createNestApplication({ logger: false }));
    appJwt = server.app.get(JwtService);
  });
  afterAll(() => server?.close());

  it("a token signed by the app's JwtService opens a stream that receives the user's events", async () => {
    const client = new StreamClient(url(appJwt.sign({ sub: 'u-app' }, { expiresIn: '1h' })));
    try {
      await client.opened();
      expect(server.app.get(SseService).sendToUser('u-app', { type: 'notification', data: { hello: 1 } })).toBe(1);
      await client.until(() => client.ofType('notification').length === 1, 5000, 'the notification');
      expect(client.ofType('notification')[0].data).toEqual({ hello: 1 });
    } finally {
      client.close();
    }
  });

  it('a token signed with another secret is refused with 401', async () => {
    const token = signToken('u-app', { iss: ISSUER }, {}, 'some-other-secret');
    expect((await rawGet(url(token))).status).toBe(401);
  });

  it("an algorithm the stream does not pin (HS512) is refused with 401, though the app's service accepts it", async () => {
    const token = appJwt.sign({ sub: 'u-app' }, { algorithm: 'HS512', expiresIn: '1h' });
    expect(appJwt.verify(token)).toMatchObject({ sub: 'u-app' });
    expect((await rawGet(url(token))).status).toBe(401);
  });

  it("an expired token is refused with 401, though the app's service ignores expiry", async () => {
    const token = appJwt.sign({ sub: 'u-app', exp: now() - 60 });
    expect(appJwt.verify(token)).toMatchObject({ sub: 'u-app' });
    expect((await rawGet(url(token))).status).toBe(401);
  });

  it("a token not valid yet (nbf) is refused with 401, though the app's service ignores nbf", async () => {
    const token = appJwt.sign({ sub: 'u-app', nbf: now() + 600 }, { expiresIn: '1h' });
    expect(appJwt.verify(token)).toMatchObject({ sub: 'u-app' });
    expect((await rawGet(url(token))).status).toBe(401);
  });

  it("the service's own issuer still applies when the SSE options set none: another issuer is 401", async () => {
    const token = appJwt.sign({ sub: 'u-app' }, { issuer: 'https://elsewhere.test', expiresIn: '1h' });
    expect((await rawGet(url(token))).status).toBe(401);
    expect((await rawGet(url(appJwt.sign({ sub: 'u-app' }, { expiresIn: '1h' })))).status).toBe(200);
  });

  it('the stream rules beyond the signature still apply: a token without exp is 401 (requireExp)', async () => {
    const token = appJwt.sign({ sub: 'u-app' });
    expect((await rawGet(url(token))).status).toBe(401);
  });
});

describe('SseModule refuses an ambiguous or unsafe jwt.service configuration at bootstrap', () => {
  const compile = (jwt: Record<string, unknown>) => {
    @Module({
      imports: [
        AuthModule,
        SseModule.forRootAsync({
          imports: [AuthModule],
          inject: [JwtService],
          useFactory: (service: JwtService) => ({ jwt: { service, ...jwt } }),
        }),
      ],
    })
    class BrokenModule {}
    return Test.createTestingModule({ imports: [BrokenModule] }).compile();
  };

  it('without pinned algorithms: the module cannot see which key the service holds', async () => {
    await expect(compile({})).rejects.toThrow(/jwt\.algorithms is required with jwt\.service/);
  });

  it('with a secret beside the service, naming both options and never the secret', async () => {
    const attempt = compile({ secret: APP_SECRET, algorithms: ['HS256'] });
    await expect(attempt).rejects.toThrow(/exactly one of .*\(got jwt\.secret and jwt\.service\)/);
    await expect(attempt).rejects.not.toThrow(APP_SECRET);
  });
});

describe('SseModule with a jwt.service that only decodes (ignores the options it is given)', () => {
  let server: RunningApp;
  const url = (token: string) => `${server.baseUrl}/api/events?token=${token}`;
  const now = () => Math.floor(Date.now() / 1000);
  const signer = new JwtService({ secret: APP_SECRET });
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

  beforeAll(async () => {
    /** A careless app's "service": it decodes, never verifies; the stream's own checks stand behind it. */
    const decodeOnly = { verify: (token: string) => signer.decode<object>(token) };
    const moduleRef = await Test.createTestingModule({
      imports: [SseModule.forRoot({ jwt: { service: decodeOnly, algorithms: ['HS256'] }, heartbeatIntervalMs: 0 })],
    }).compile();
    server = await listen(moduleRef.createNestApplication({ logger: false }));
  });
  afterAll(() => server?.close());

  it.each([
    ['an expired token', () => signer.sign({ sub: 'u', exp: now() - 60 }), 'expired'],
    [
      'a token not valid yet (nbf)',
      () => signer.sign({ sub: 'u', nbf: now() + 600 }, { expiresIn: '1h' }),
      'not-yet-valid',
    ],
    [
      'an unsigned token (alg none)',
      () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u', exp: now() + 600 })}.`,
      'invalid',
    ],
  ])('refuses %s with 401 and its reason', async (_what, token, reason) => {
    const res = await rawGet(url(token()));
    expect(res.status).toBe(401);
    expect(res.headers['sse-auth-reason']).toBe(reason);
  });

  it('still opens a stream for a valid token', async () => {
    expect((await rawGet(url(signer.sign({ sub: 'u' }, { expiresIn: '1h' })))).status).toBe(200);
  });
});

describe("SseModule refuses the app's JwtService with an async secretOrKeyProvider at bootstrap", () => {
  it('with an error that says why (every token would be a 401)', async () => {
    @Module({
      imports: [
        SseModule.forRootAsync({
          imports: [JwtModule.register({ secretOrKeyProvider: async () => APP_SECRET })],
          inject: [JwtService],
          useFactory: (service: JwtService) => ({ jwt: { service, algorithms: ['HS256'] } }),
        }),
      ],
    })
    class AsyncKeyModule {}
    await expect(Test.createTestingModule({ imports: [AsyncKeyModule] }).compile()).rejects.toThrow(
      /jwt\.service's secretOrKeyProvider returns a Promise/,
    );
  });
});
