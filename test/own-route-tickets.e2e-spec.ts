import {
  SseAuthGuard,
  type SseAuthRequest,
  SseModule,
  type SseModuleExtras,
  type SseModuleOptions,
  SseRoute,
  SseService,
  SseStreamUser,
  SseTicketService,
  SseTokenVerifier,
  SseTopic,
  SseTopicAuthorizer,
  type SseTopicPolicy,
  type SseUser,
} from '@nest-sse/server';
import { Controller, Header, HttpCode, Injectable, Module, Param, Post, Req, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { ConditionWaiter } from './support/condition-waiter.js';
import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { openRaw, rawGet, rawHead, waitForCount } from './support/sse-client.js';

/**
 * Tickets on an app's own stream routes. `SseAuthGuard` redeems
 * `?ticket=` (from the module's `POST <path>`, or from `SseTicketService.issue()` on
 * the app's own `POST` with `route: false`), so an own route keeps the token out of
 * its URL as the module's route does.
 */

/** A subclass with a dependency of its own, written as the README says: its constructor keeps `super(verifier)`. */
@Injectable()
class Audit {
  readonly seen: string[] = [];
}
@Injectable()
class AuditedSseAuthGuard extends SseAuthGuard {
  constructor(
    verifier: SseTokenVerifier,
    private readonly audit: Audit,
  ) {
    super(verifier);
  }
  protected override async resolveUser(...args: Parameters<SseAuthGuard['resolveUser']>): Promise<SseUser> {
    const user = await super.resolveUser(...args);
    this.audit.seen.push(user.userId);
    return user;
  }
}

/**
 * A subclass with a `tickets` field of its own (a service of the app's, nothing to do with stream tickets):
 * the base class's injected ticket service must neither collide with it (TS2415) nor overwrite it after the
 * constructor (Nest's property injection). It takes tickets (acceptsTickets) and notes every user in it.
 */
@Injectable()
class TicketLedger {
  readonly noted: string[] = [];
  note(entry: string): void {
    this.noted.push(entry);
  }
}
@Injectable()
class LedgerSseAuthGuard extends SseAuthGuard {
  constructor(
    verifier: SseTokenVerifier,
    private readonly tickets: TicketLedger,
  ) {
    super(verifier);
  }
  protected override acceptsTickets(): boolean {
    return true;
  }
  protected override async resolveUser(...args: Parameters<SseAuthGuard['resolveUser']>): Promise<SseUser> {
    const user = await super.resolveUser(...args);
    this.tickets.note(`token:${user.userId}`);
    return user;
  }
  protected override resolveTicketUser(...[grant]: Parameters<SseAuthGuard['resolveTicketUser']>): SseUser {
    this.tickets.note(`ticket:${grant.user.userId}`);
    return grant.user;
  }
}

/** Who may follow a job: everyone but the user 'outsider'. */
@SseTopic('jobs/:id')
class JobTopics implements SseTopicPolicy<{ id: string }> {
  canSubscribe(user: SseUser): boolean {
    return user.userId !== 'outsider';
  }
}

@Controller('jobs')
class JobEventsController {
  constructor(
    private readonly sse: SseService,
    private readonly tickets: SseTicketService,
    private readonly topics: SseTopicAuthorizer,
  ) {}

  /** The recommended own route (README): a ticket or a token, the user's stream for one job, its topic authorised here. */
  @SseRoute(':id/events')
  @UseGuards(SseAuthGuard)
  async events(@SseStreamUser() user: SseUser, @Param('id') id: string, @Req() request: object) {
    const topics = [`jobs/${id}`];
    await this.topics.authorize(user, topics);
    return this.sse.openStream(user.userId, { request, topics, expiresAt: user.expiresAt });
  }

  /** A subclass that overrides resolveUser: tickets are not its credential (its hook would not run for them). */
  @SseRoute(':id/audited')
  @UseGuards(AuditedSseAuthGuard)
  audited(@SseStreamUser() user: SseUser, @Req() request: object) {
    return this.sse.openStream(user.userId, { request, expiresAt: user.expiresAt });
  }

  /** A subclass with its own `tickets` field. */
  @SseRoute(':id/ledger')
  @UseGuards(LedgerSseAuthGuard)
  ledger(@SseStreamUser() user: SseUser, @Req() request: object) {
    return this.sse.openStream(user.userId, { request, expiresAt: user.expiresAt });
  }

  /** The app's own ticket route (for `route: false`): the token in Authorization: Bearer. */
  @Post('stream-ticket')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @UseGuards(SseAuthGuard)
  ticket(@Req() request: SseAuthRequest) {
    return this.tickets.issue(request);
  }
}

@Module({
  controllers: [JobEventsController],
  providers: [Audit, AuditedSseAuthGuard, TicketLedger, LedgerSseAuthGuard, JobTopics],
})
class JobsModule {}

async function start(
  adapter: (typeof ADAPTERS)[number],
  options: Partial<SseModuleOptions>,
  extras: SseModuleExtras = {},
): Promise<RunningApp> {
  @Module({
    imports: [
      SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, ...options, ...extras }),
      JobsModule,
    ],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  return listen(createApp(moduleRef, { adapter }));
}

async function post(url: string, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** A stream opened and kept open, with a wait for what it received. */
async function openStream(url: string) {
  const stream = await openRaw(url);
  const changes = new ConditionWaiter();
  stream.response.on('data', () => changes.notify());
  return { ...stream, received: (text: string) => changes.until(() => stream.body().includes(text), 5000, text) };
}

function expectInvalidTicket(res: { status: number; body: string }, message = /^Invalid ticket/): void {
  expect(res.status).toBe(401);
  expect(JSON.parse(res.body)).toMatchObject({ statusCode: 401, message: expect.stringMatching(message) });
  expect(res.body).not.toMatch(/retry:|event:|data:/);
}

describe.each(ADAPTERS)("tickets on an app's own route guarded by SseAuthGuard (%s)", (adapter) => {
  describe("with the module's route (tickets from POST /api/events)", () => {
    let server: RunningApp;
    beforeAll(async () => {
      server = await start(adapter, { tickets: { ttlMs: 1_000 } });
    });
    afterAll(() => server.close());

    const issue = async (userId: string, query = '') => {
      const res = await post(`${server.baseUrl}/api/events${query}`, signToken(userId));
      expect(res.status).toBe(200);
      return res.json.ticket as string;
    };
    const own = (ticket: string, route = '7/events') => `${server.baseUrl}/jobs/${route}?ticket=${ticket}`;

    it("?ticket= opens the own route as the ticket's user, once: the stream receives the user's event, a second GET is a 401", async () => {
      const sse = server.app.get(SseService);
      const ticket = await issue('jo');
      const stream = await openStream(own(ticket));
      try {
        expect(stream.status).toBe(200);
        await waitForCount(() => sse.connectionCount('jo'), 1);
        sse.sendToUser('jo', { type: 'notification', data: { job: 7 } });
        await stream.received('"job":7');
        // Subscribed to its job's topic by the route.
        sse.publish('jobs/7', { type: 'update', data: { progress: 50 } });
        await stream.received('"progress":50');
        expectInvalidTicket(await rawGet(own(ticket)));
        // Spent on the own route: the module's route refuses it too.
        expectInvalidTicket(await rawGet(`${server.baseUrl}/api/events?ticket=${ticket}`));
      } finally {
        stream.destroy();
      }
    });

    it('a HEAD with ?ticket= answers 200 without spending it (three times), then the GET opens; a HEAD after that is a 401', async () => {
      const ticket = await issue('hal');
      for (let i = 0; i < 3; i++) expect({ i, ...(await rawHead(own(ticket))) }).toMatchObject({ i, status: 200 });
      const stream = await openRaw(own(ticket));
      try {
        expect(stream.status).toBe(200);
        expect((await rawHead(own(ticket))).status).toBe(401);
      } finally {
        stream.destroy();
      }
    });

    it('an expired ticket is a 401 (waited past its 1 s life, bounded at 3 s)', async () => {
      const ticket = await issue('exp');
      const deadline = Date.now() + 3_000;
      while ((await rawHead(own(ticket))).status === 200) {
        if (Date.now() > deadline) throw new Error('the ticket still opened 3 s after its 1 s life');
        await new Promise((r) => setTimeout(r, 50));
      }
      expectInvalidTicket(await rawGet(own(ticket)));
    });

    it('a ticket bound to topics (POST with ?topic=) is refused on the own route (401), and spent there', async () => {
      const ticket = await issue('top', '?topic=jobs/7');
      expectInvalidTicket(await rawGet(own(ticket)), /bound to topics/);
      expectInvalidTicket(await rawGet(`${server.baseUrl}/api/events?ticket=${ticket}`));
    });

    it('unknown, a JWT as a ticket, several ticket parameters: 401; a valid token beside a bad ticket does not help', async () => {
      expectInvalidTicket(await rawGet(own('A'.repeat(43))));
      expectInvalidTicket(await rawGet(own(signToken('jwt'))));
      const ticket = await issue('two');
      expectInvalidTicket(await rawGet(`${own(ticket)}&ticket=${ticket}`));
      expectInvalidTicket(await rawGet(`${own('A'.repeat(43))}&token=${signToken('two')}`));
    });

    it("the route's own topic check still applies to a ticket's user: 403", async () => {
      const res = await rawGet(own(await issue('outsider')));
      expect(res.status).toBe(403);
    });

    it('tokens still work on the own route as before (?token=, Bearer)', async () => {
      const byQuery = await openRaw(`${server.baseUrl}/jobs/7/events?token=${signToken('tok')}`);
      const byHeader = await openRaw(`${server.baseUrl}/jobs/7/events`, {
        authorization: `Bearer ${signToken('tok')}`,
      });
      byQuery.destroy();
      byHeader.destroy();
      expect([byQuery.status, byHeader.status]).toEqual([200, 200]);
    });

    it('a subclass that overrides resolveUser (constructor(verifier, other) { super(verifier) }) still authenticates tokens and runs its hook; it takes no ticket (its hook would not run): ?ticket= alone is a 401 Missing token', async () => {
      const ticket = await issue('aud');
      const withToken = await openRaw(`${server.baseUrl}/jobs/7/audited?token=${signToken('aud')}`);
      withToken.destroy();
      expect(withToken.status).toBe(200);
      expect(server.app.get(Audit).seen).toContain('aud');
      const res = await rawGet(own(ticket, '7/audited'));
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body).message).toMatch(/^Missing token/);
      // Not looked at, so not spent: it still opens the module's route.
      const stream = await openRaw(`${server.baseUrl}/api/events?ticket=${ticket}`);
      stream.destroy();
      expect(stream.status).toBe(200);
    });
    it('a subclass with a private readonly tickets field of its own (constructor(verifier, tickets) { super(verifier) }) keeps it: tokens and tickets open, its hooks reach its own service', async () => {
      const ledger = server.app.get(TicketLedger);
      const withToken = await openRaw(`${server.baseUrl}/jobs/7/ledger?token=${signToken('led')}`);
      withToken.destroy();
      expect(withToken.status).toBe(200);
      const ticket = await issue('led');
      const withTicket = await openRaw(own(ticket, '7/ledger'));
      withTicket.destroy();
      expect(withTicket.status).toBe(200);
      expect(ledger.noted).toEqual(expect.arrayContaining(['token:led', 'ticket:led']));
      // Spent there, once.
      expectInvalidTicket(await rawGet(own(ticket, '7/ledger')));
    });
  });

  describe("with route: false: tickets from the app's own POST (SseTicketService.issue)", () => {
    let server: RunningApp;
    beforeAll(async () => {
      server = await start(adapter, {}, { route: false });
    });
    afterAll(() => server.close());

    it("the app's POST (Bearer) issues a ticket that opens its own route once; without a token the POST is a 401; a ticket never buys another", async () => {
      expect((await post(`${server.baseUrl}/api/events`, signToken('rf'))).status).toBe(404);
      const res = await post(`${server.baseUrl}/jobs/stream-ticket`, signToken('rf'));
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresInMs: 30_000 });
      expect((await post(`${server.baseUrl}/jobs/stream-ticket`)).status).toBe(401);
      expect((await post(`${server.baseUrl}/jobs/stream-ticket?ticket=${res.json.ticket}`)).status).toBe(401);
      const stream = await openRaw(`${server.baseUrl}/jobs/3/events?ticket=${res.json.ticket}`);
      try {
        expect(stream.status).toBe(200);
        expectInvalidTicket(await rawGet(`${server.baseUrl}/jobs/3/events?ticket=${res.json.ticket}`));
      } finally {
        stream.destroy();
      }
    });
  });
});
