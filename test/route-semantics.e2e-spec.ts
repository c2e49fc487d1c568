import { SseModule, SseService } from '@nest-sse/server';
import {
  ArgumentsHost,
  type CallHandler,
  type CanActivate,
  Catch,
  type ExceptionFilter,
  type ExecutionContext,
  HttpException,
  Injectable,
  Module,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Observable } from 'rxjs';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { rawGet, StreamClient, waitForCount } from './support/sse-client.js';

const seen = { intercepted: 0, filtered: 0 };

/**
 * An app-wide interceptor: runs for the stream route, and headers it sets reach the client
 * (on Fastify they are set on the reply, not on the raw response the stream is written to).
 */
@Injectable()
class StampInterceptor implements NestInterceptor {
  constructor(private readonly host: HttpAdapterHost) {}
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    seen.intercepted++;
    this.host.httpAdapter.setHeader(context.switchToHttp().getResponse(), 'X-Request-Stamp', 'stamped');
    return next.handle();
  }
}

/** An app-wide guard that runs before the module's own. */
@Injectable()
class MaintenanceGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest().query.maintenance !== '1';
  }
}

/** An app-wide filter: the module's 401 and 429 go through it like any HttpException. */
@Catch(HttpException)
class TaggingFilter implements ExceptionFilter {
  constructor(private readonly host: HttpAdapterHost) {}
  catch(exception: HttpException, host: ArgumentsHost): void {
    seen.filtered++;
    const { httpAdapter } = this.host;
    const response = host.switchToHttp().getResponse();
    httpAdapter.setHeader(response, 'X-Filtered', 'yes');
    httpAdapter.reply(response, { ...(exception.getResponse() as object), filtered: true }, exception.getStatus());
  }
}

describe.each(ADAPTERS)("the stream route keeps Nest's guards, interceptors and exception filters on %s", (adapter) => {
  let server: RunningApp;
  beforeAll(async () => {
    @Module({
      imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, maxConnectionsPerUser: 1 })],
      providers: [
        { provide: APP_INTERCEPTOR, useClass: StampInterceptor },
        { provide: APP_GUARD, useClass: MaintenanceGuard },
        { provide: APP_FILTER, useClass: TaggingFilter },
      ],
    })
    class AppWithGlobals {}
    const moduleRef = await Test.createTestingModule({ imports: [AppWithGlobals] }).compile();
    server = await listen(createApp(moduleRef, { adapter, logger: false }));
  });
  afterAll(() => server.close());

  it('runs app-wide interceptors, whose headers reach the stream response', async () => {
    const before = seen.intercepted;
    const res = await rawGet(`${server.baseUrl}/api/events?token=${signToken('ivy')}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['x-request-stamp']).toBe('stamped');
    expect(seen.intercepted).toBe(before + 1);
  });

  it('runs app-wide guards before any stream byte', async () => {
    const res = await rawGet(`${server.baseUrl}/api/events?token=${signToken('ivy')}&maintenance=1`);
    expect(res.status).toBe(403);
    expect(res.body).not.toMatch(/retry:/);
  });

  it('sends the 401 and the 429 through app-wide exception filters', async () => {
    const before = seen.filtered;
    const unauthorized = await rawGet(`${server.baseUrl}/api/events?token=bad`);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers['x-filtered']).toBe('yes');

    const url = `${server.baseUrl}/api/events?token=${signToken('jay')}`;
    const first = new StreamClient(url);
    try {
      await first.opened();
      await waitForCount(() => server.app.get(SseService).connectionCount('jay'), 1);
      const limited = await rawGet(url);
      expect(limited.status).toBe(429);
      expect(JSON.parse(limited.body)).toMatchObject({ limit: 1, filtered: true });
      expect(seen.filtered).toBe(before + 2); // the 401 and the 429
    } finally {
      first.close();
    }
  });
});
