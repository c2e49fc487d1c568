import {
  SseAuthGuard,
  type SseAuthRequest,
  SseModule,
  SseService,
  SseStreamUser,
  type SseTokenClaims,
  SseTokenVerifier,
  type SseUser,
} from '@nest-sse/server';
import {
  Controller,
  ForbiddenException,
  Headers,
  Injectable,
  type LoggerService,
  type MessageEvent,
  Module,
  Sse,
  UseGuards,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { concat, type Observable, of } from 'rxjs';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { rawGet, StreamClient, waitForCount } from './support/sse-client.js';

/** The app's events, declared once: the controller's SseService is typed by them. */
interface AppEvents {
  notification: { orderId: string };
  update: { note: string };
}

/** Where the roles of the staff-only stream come from: a dependency of the guard's subclass. */
@Injectable()
class RoleDirectory {
  rolesOf(userId: string): string[] {
    return userId === 'ann' ? ['staff', 'support'] : [];
  }
}

interface StaffUser extends SseUser {
  roles: string[];
}

/** resolveUser overridden: the default user, plus roles, and only for staff (403 otherwise). */
@Injectable()
class StaffSseAuthGuard extends SseAuthGuard {
  constructor(
    verifier: SseTokenVerifier,
    private readonly directory: RoleDirectory,
  ) {
    super(verifier);
  }

  protected override async resolveUser(claims: SseTokenClaims, request: SseAuthRequest): Promise<StaffUser> {
    const user = await super.resolveUser(claims, request);
    const roles = this.directory.rolesOf(user.userId);
    if (!roles.includes('staff')) throw new ForbiddenException('Staff only');
    return { ...user, roles };
  }
}

/** resolveUser overridden carelessly: the user id from a claim that may be missing. */
@Injectable()
class NicknameSseAuthGuard extends SseAuthGuard {
  protected override resolveUser(claims: SseTokenClaims): SseUser {
    return { userId: claims.nickname as string };
  }
}

const SESSION_COOKIE = 'sse_session';

/** extractToken overridden: the JWT comes from a cookie, and only from there. */
@Injectable()
class CookieSseAuthGuard extends SseAuthGuard {
  protected override extractToken(request: SseAuthRequest): string | undefined {
    const cookie = request.headers.cookie;
    if (typeof cookie !== 'string') return undefined;
    for (const pair of cookie.split(';')) {
      const [name, ...value] = pair.trim().split('=');
      if (name === SESSION_COOKIE) return decodeURIComponent(value.join('='));
    }
    return undefined;
  }
}

/** The app's own @Sse() routes, in a feature module of their own (not the module that imports SseModule). */
@Controller('orders')
class OrderEventsController {
  constructor(private readonly sse: SseService<AppEvents>) {}

  @Sse('events')
  @UseGuards(SseAuthGuard)
  events(@SseStreamUser() user: SseUser, @Headers('last-event-id') lastEventId?: string): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { lastEventId, expiresAt: user.expiresAt });
  }

  @Sse('cookie-events')
  @UseGuards(CookieSseAuthGuard)
  cookieEvents(@SseStreamUser('userId') userId: string): Observable<MessageEvent> {
    return this.sse.stream(userId);
  }

  @Sse('staff-events')
  @UseGuards(StaffSseAuthGuard)
  staffEvents(@SseStreamUser() user: StaffUser): Observable<MessageEvent> {
    // The first event says what the handler was given, so the test can see the roles resolveUser added.
    return concat(
      of({ type: 'update', data: { note: `roles: ${user.roles.join(',')}` } }),
      this.sse.stream(user.userId),
    );
  }

  @Sse('nickname-events')
  @UseGuards(NicknameSseAuthGuard)
  nicknameEvents(@SseStreamUser('userId') userId: string): Observable<MessageEvent> {
    return this.sse.stream(userId);
  }

  /** No guard: @SseStreamUser() has nothing to read. */
  @Sse('unguarded-events')
  unguardedEvents(@SseStreamUser() user: SseUser): Observable<MessageEvent> {
    return this.sse.stream(user.userId);
  }
}

@Module({ controllers: [OrderEventsController], providers: [RoleDirectory] })
class OrdersModule {}

/** Every line the app logs, to show no token ever reaches the log. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = (...args: unknown[]) => this.keep(args);
  error = (...args: unknown[]) => this.keep(args);
  warn = (...args: unknown[]) => this.keep(args);
  debug = (...args: unknown[]) => this.keep(args);
  verbose = (...args: unknown[]) => this.keep(args);
  private keep(args: unknown[]): void {
    this.lines.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : String(a))).join(' '));
  }
}

const now = () => Math.floor(Date.now() / 1000);

async function expectRefused(url: string, headers: Record<string, string>, status: number, message: RegExp) {
  const res = await rawGet(url, headers);
  expect(res.status).toBe(status);
  // Answered by the exception filters with JSON, before any byte of a stream.
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).not.toMatch(/retry:|event:|data:/);
  expect(JSON.parse(res.body)).toMatchObject({ statusCode: status, message: expect.stringMatching(message) });
}

describe("SseAuthGuard on an app's own @Sse() routes, in any module", () => {
  let server: RunningApp;
  let sse: SseService<AppEvents>;
  const logger = new CapturingLogger();
  const clients: StreamClient[] = [];

  beforeAll(async () => {
    @Module({ imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 }), OrdersModule] })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    server = await listen(moduleRef.createNestApplication({ logger }));
    sse = server.app.get(SseService);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => server.close());

  const open = async (path: string, userId: string, headers: Record<string, string> = {}) => {
    const client = new StreamClient(`${server.baseUrl}${path}`, [], headers);
    clients.push(client);
    await client.opened();
    await waitForCount(() => sse.connectionCount(userId), 0, 1);
    return client;
  };

  it('@UseGuards(SseAuthGuard) authenticates the stream and @SseStreamUser() hands the user to the handler', async () => {
    const alice = await open(`/orders/events?token=${signToken('alice')}`, 'alice');
    const bob = await open('/orders/events', 'bob', { authorization: `Bearer ${signToken('bob')}` });
    expect(sse.sendToUser('alice', { type: 'notification', data: { orderId: 'o-1' } })).toBe(1);
    await alice.until(() => alice.ofType('notification').length === 1);
    expect(alice.ofType('notification')[0].data).toEqual({ orderId: 'o-1' });
    sse.sendToUser('bob', { type: 'update', data: { note: 'for bob' } });
    await bob.until(() => bob.ofType('update').length === 1);
    expect(bob.events.map((e) => e.data)).toEqual([{ note: 'for bob' }]);
  });

  it('refuses as the module route does: 401 JSON with the same messages, before any byte', async () => {
    const url = `${server.baseUrl}/orders/events`;
    await expectRefused(url, {}, 401, /^Missing token/);
    await expectRefused(`${url}?token=not.a.jwt`, {}, 401, /^Invalid token/);
    await expectRefused(`${url}?token=${signToken('alice', {}, {}, 'another-secret')}`, {}, 401, /invalid signature/);
    await expectRefused(`${url}?token=${signToken('alice', { exp: now() - 10 })}`, {}, 401, /^Token expired$/);
    await expectRefused(`${url}?token=${signToken(undefined, { name: 'alice' })}`, {}, 401, /no usable 'sub' claim/);
    await expectRefused(url, { authorization: 'Basic YWxpY2U6cHc=' }, 401, /^Missing token/);
  });

  it('passes the token expiry through the user: the stream ends with auth-expired', async () => {
    const client = await open(`/orders/events?token=${signToken('carol', { exp: now() + 1 })}`, 'carol');
    await client.until(() => client.ofType('auth-expired').length === 1, 4000, 'auth-expired');
    expect(client.ofType('auth-expired')[0].data).toEqual({ reason: 'token expired' });
  });

  it('a subclass overriding extractToken authenticates from a cookie, and only from it', async () => {
    const token = signToken('dave');
    const client = await open('/orders/cookie-events', 'dave', { cookie: `theme=dark; ${SESSION_COOKIE}=${token}` });
    sse.sendToUsers(['dave'], { type: 'notification', data: { orderId: 'o-2' } });
    await client.until(() => client.ofType('notification').length === 1);
    expect(client.ofType('notification')[0].data).toEqual({ orderId: 'o-2' });

    const url = `${server.baseUrl}/orders/cookie-events`;
    await expectRefused(`${url}?token=${token}`, {}, 401, /^Missing token/);
    await expectRefused(url, { authorization: `Bearer ${token}` }, 401, /^Missing token/);
    await expectRefused(url, { cookie: `${SESSION_COOKIE}=not.a.jwt` }, 401, /^Invalid token/);
  });

  it('a subclass overriding resolveUser (with a dependency of its own) adds roles, and may refuse with 403', async () => {
    const ann = await open(`/orders/staff-events?token=${signToken('ann')}`, 'ann');
    await ann.until(() => ann.ofType('update').length === 1);
    expect(ann.ofType('update')[0].data).toEqual({ note: 'roles: staff,support' });
    sse.broadcast({ type: 'notification', data: { orderId: 'o-3' } });
    await ann.until(() => ann.ofType('notification').length === 1);

    await expectRefused(`${server.baseUrl}/orders/staff-events?token=${signToken('bob')}`, {}, 403, /^Staff only$/);
    // The subclass still verifies the token first.
    await expectRefused(`${server.baseUrl}/orders/staff-events?token=not.a.jwt`, {}, 401, /^Invalid token/);
  });

  it("checks what a subclass's resolveUser returns: no usable user id is a 401", async () => {
    const url = `${server.baseUrl}/orders/nickname-events`;
    await expectRefused(`${url}?token=${signToken('gus')}`, {}, 401, /^Invalid credentials: no usable user id$/);
    await expectRefused(
      `${url}?token=${signToken('gus', { nickname: 'x'.repeat(257) })}`,
      {},
      401,
      /no usable user id/,
    );
    const client = await open(`/orders/nickname-events?token=${signToken('gus', { nickname: 'gussie' })}`, 'gussie');
    sse.sendToUser('gussie', { type: 'notification', data: { orderId: 'o-4' } });
    await client.until(() => client.ofType('notification').length === 1);
  });

  it('@SseStreamUser() on a route without the guard is a 500 saying so, not a stream for no one', async () => {
    const res = await rawGet(`${server.baseUrl}/orders/unguarded-events`);
    expect(res.status).toBe(500);
    expect(sse.connectionCount()).toBe(0);
    expect(logger.lines.some((line) => line.includes('@SseStreamUser(): no stream user on the request'))).toBe(true);
  });

  it('never logs a token', async () => {
    const token = signToken('erin');
    await rawGet(`${server.baseUrl}/orders/events?token=${token}`);
    await rawGet(`${server.baseUrl}/orders/events?token=${token.slice(0, -3)}xyz`);
    await rawGet(`${server.baseUrl}/orders/unguarded-events?token=${token}`);
    expect(logger.lines.some((line) => line.includes('@SseStreamUser()'))).toBe(true); // the 500 was logged
    const signature = token.split('.')[2];
    expect(logger.lines.filter((line) => line.includes(signature))).toEqual([]);
  });
});

describe('SseAuthGuard where SseModule is not global', () => {
  it('works in the module that imports SseModule', async () => {
    @Controller()
    class LocalController {
      constructor(private readonly sse: SseService) {}

      @Sse('local/events')
      @UseGuards(SseAuthGuard)
      events(@SseStreamUser('userId') userId: string): Observable<MessageEvent> {
        return this.sse.stream(userId);
      }
    }
    @Module({
      imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, isGlobal: false })],
      controllers: [LocalController],
    })
    class LocalModule {}
    const moduleRef = await Test.createTestingModule({ imports: [LocalModule] }).compile();
    const server = await listen(moduleRef.createNestApplication({ logger: false }));
    const client = new StreamClient(`${server.baseUrl}/local/events?token=${signToken('fay')}`);
    try {
      await client.opened();
      const sse = server.app.get(SseService);
      await waitForCount(() => sse.connectionCount('fay'), 0, 1);
      sse.sendToUser('fay', { type: 'notification', data: 'hi' });
      await client.until(() => client.ofType('notification').length === 1);
      expect((await rawGet(`${server.baseUrl}/local/events`)).status).toBe(401);
    } finally {
      client.close();
      await server.close();
    }
  });
});
