import { createSseClient, fetchSseTicket, type SseClient, type SseStatusReason } from '@nest-sse/client';
import {
  SseAuthGuard,
  type SseAuthRequest,
  SseModule,
  SseRoute,
  SseService,
  SseStreamUser,
  type SseUser,
} from '@nest-sse/server';
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Injectable,
  type MessageEvent,
  Module,
  Req,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventSource } from 'eventsource';
import type { Observable } from 'rxjs';

import { ConditionWaiter } from './support/condition-waiter.js';
import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { waitForCount } from './support/sse-client.js';

/**
 * SseClient with `getTicket` against an app's own routes: a stream's 401
 * that is not the ticket's (a route whose guard does not take tickets answers `missing`) counts toward
 * `maxAuthFailures`, though every round obtains a new ticket; a refusal of another kind (a 503) does not.
 */

/** Stream GETs still to refuse with a 503, after the ticket was redeemed (a refused reconnect). */
let refuseNext = 0;

@Injectable()
class RefusingGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ method: string }>();
    if (request.method === 'GET' && refuseNext > 0) {
      refuseNext--;
      throw new ServiceUnavailableException('refused by the test');
    }
    return true;
  }
}

/** A subclass reading the token from Authorization only: overriding extractToken, it takes no tickets. */
@Injectable()
class HeaderOnlySseAuthGuard extends SseAuthGuard {
  protected override extractToken(request: SseAuthRequest): string | undefined {
    const auth = request.headers.authorization;
    return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
  }
}

@Controller('own')
class OwnStreamsController {
  constructor(private readonly sse: SseService) {}

  @SseRoute('tickets')
  @UseGuards(SseAuthGuard, RefusingGuard)
  tickets(@SseStreamUser() user: SseUser, @Req() request: object): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { request, expiresAt: user.expiresAt });
  }

  @SseRoute('header-only')
  @UseGuards(HeaderOnlySseAuthGuard)
  headerOnly(@SseStreamUser() user: SseUser, @Req() request: object): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { request, expiresAt: user.expiresAt });
  }
}

@Module({ controllers: [OwnStreamsController], providers: [RefusingGuard, HeaderOnlySseAuthGuard] })
class OwnStreamsModule {}

/** A browser's EventSource: it does not say which HTTP status refused it (no `code` on its error event). */
class SilentStatusEventSource extends EventSource {
  override dispatchEvent(event: Event): boolean {
    if (event.type === 'error' && 'code' in event) return super.dispatchEvent(new Event('error'));
    return super.dispatchEvent(event);
  }
}

const EVENT_SOURCES = [
  ['an EventSource that reports the status', EventSource],
  ["a browser's EventSource (no status)", SilentStatusEventSource],
] as const;

describe.each(ADAPTERS)('SseClient with getTicket against own routes (%s)', (adapter) => {
  let server: RunningApp;
  /** Every request the app saw, as `METHOD /path`, in order. */
  const requests: string[] = [];

  beforeAll(async () => {
    @Module({
      imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 }), OwnStreamsModule],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = createApp(moduleRef, { adapter });
    server = await listen(app);
  });
  afterAll(() => server.close());

  const start = (route: string, userId: string, ES: typeof EventSource, maxAuthFailures: number) => {
    const changes = new ConditionWaiter();
    const reasons: SseStatusReason[] = [];
    let tickets = 0;
    const moduleUrl = `${server.baseUrl}/api/events`;
    const client: SseClient = createSseClient(`${server.baseUrl}/own/${route}`, {
      getTicket: () => {
        tickets += 1;
        changes.notify();
        return fetchSseTicket(moduleUrl, signToken(userId));
      },
      // Records each stream request (the probes are recorded by the fetch below).
      EventSource: class extends ES {
        constructor(url: string | URL, init?: ConstructorParameters<typeof EventSource>[1]) {
          requests.push(`GET ${new URL(String(url)).pathname}`);
          super(url, init);
        }
      },
      backoff: { initialMs: 20, maxMs: 40, jitter: 0 },
      maxAuthFailures,
      onStatus: (_status, _previous, reason) => {
        reasons.push(reason);
        changes.notify();
      },
    });
    return { client, reasons, changes, tickets: () => tickets };
  };

  /** The client's probes use the global fetch: recorded for the duration of a test. */
  let realFetch: typeof fetch;
  beforeEach(() => {
    requests.length = 0;
    realFetch = globalThis.fetch;
    globalThis.fetch = (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the client under test fetches with a string or URL, never a Request
      if ((init?.method ?? 'GET') === 'HEAD') requests.push(`HEAD ${new URL(String(input)).pathname}`);
      return realFetch(input, init);
    };
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
    refuseNext = 0;
  });

  it.each(EVENT_SOURCES)(
    'a route whose guard takes no tickets (401 missing on every stream): with %s, the client stops unauthorized with reason missing after maxAuthFailures rounds',
    async (_what, ES) => {
      const { client, reasons, changes, tickets } = start('header-only', 'no-tickets', ES, 3);
      try {
        await changes.until(() => client.status === 'unauthorized', 5000, 'unauthorized');
        expect(client.error).toMatchObject({ code: 'unauthorized', httpStatus: 401, reason: 'missing' });
        expect(reasons.at(-1)).toBe('unauthorized');
        // Three rounds: a ticket, its stream refused, a HEAD that tells why; then nothing more.
        expect(tickets()).toBe(3);
        const own = requests.filter((r) => r.endsWith('/own/header-only'));
        expect(own).toEqual([
          'GET /own/header-only',
          'HEAD /own/header-only',
          'GET /own/header-only',
          'HEAD /own/header-only',
          'GET /own/header-only',
          'HEAD /own/header-only',
        ]);
      } finally {
        client.close();
      }
    },
  );

  it.each(EVENT_SOURCES)(
    "a route that takes tickets, its reconnects refused with a 503 twice: with %s and maxAuthFailures 1, the client recovers on new tickets (the spent ticket's 401 does not count)",
    async (_what, ES) => {
      const sse = server.app.get(SseService);
      const { client, changes, tickets } = start('tickets', 'restarted', ES, 1);
      try {
        await changes.until(
          () => client.status === 'open' && sse.connectionCount('restarted') === 1,
          5000,
          'the first connection',
        );
        refuseNext = 2;
        sse.disconnectUser('restarted');
        await changes.until(() => refuseNext === 0 && tickets() >= 4 && client.status === 'open', 5000, 'the recovery');
        await waitForCount(() => sse.connectionCount('restarted'), 1);
        expect(client.status).toBe('open');
        // Each refused stream was probed: its spent ticket answered 401 `ticket`, not counted.
        expect(requests.filter((r) => r === 'HEAD /own/tickets').length).toBe(ES === SilentStatusEventSource ? 2 : 0);
      } finally {
        client.close();
      }
      await waitForCount(() => sse.connectionCount('restarted'), 0);
    },
  );
});
