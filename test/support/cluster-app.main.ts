import 'reflect-metadata';

import { MemoryTicketStore, SseModule, SseService } from '@nest-sse/server';
import { RedisSseTransport } from '@nest-sse/server/redis';
import { Body, Controller, Get, HttpCode, Module, Post, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/**
 * One instance of a user's app behind a load balancer, run as its own process by
 * test/cluster.e2e-spec.ts (compiled fresh by test/support/fresh-build.ts): the
 * module's route on the Redis transport, and a control surface under /test that
 * the test calls directly on this instance's port (loopback only, no auth: a
 * test harness, not an example).
 */
const env = process.env;
const number = (name: string): number | undefined => (env[name] === undefined ? undefined : Number(env[name]));

/** What the test asks an instance to send; exactly one of the audiences. */
interface SendRequest {
  userId?: string;
  userIds?: string[];
  topic?: string;
  all?: boolean;
  type: string;
  data: unknown;
}

@Controller('test')
class ClusterControlController {
  constructor(private readonly sse: SseService) {}

  /** Sends as the app would; a refusal (`SseTransportError` while Redis is away) is answered 503 with its name and message. */
  @Post('send')
  @HttpCode(200)
  send(@Body() body: SendRequest): { ok: true; reached: number } | { ok: false; error: string; message: string } {
    const event = { type: body.type, data: body.data };
    try {
      const reached =
        body.userId !== undefined
          ? this.sse.sendToUser(body.userId, event)
          : body.userIds !== undefined
            ? this.sse.sendToUsers(body.userIds, event)
            : body.topic !== undefined
              ? this.sse.publish(body.topic, event)
              : this.sse.broadcast(event);
      return { ok: true, reached };
    } catch (err) {
      return { ok: false, error: (err as Error).name, message: (err as Error).message };
    }
  }

  /** This instance's open streams, of one user or of all. */
  @Get('count')
  count(@Query('userId') userId?: string): { local: number } {
    return { local: this.sse.connectionCount(userId) };
  }

  /** Ends the user's streams on this instance (their clients reconnect through the balancer). */
  @Post('disconnect')
  @HttpCode(200)
  disconnect(@Body() body: { userId: string }): { ended: number } {
    return { ended: this.sse.disconnectUser(body.userId) };
  }
}

@Module({
  imports: [
    SseModule.forRoot({
      jwt: { secret: env.JWT_SECRET! },
      transport: new RedisSseTransport({
        redis: env.REDIS_URL!,
        keyPrefix: env.REDIS_KEY_PREFIX,
        slotTtlMs: number('SLOT_TTL_MS'),
        slotRefreshMs: number('SLOT_REFRESH_MS'),
        maxPendingPublishes: number('MAX_PENDING_PUBLISHES'),
        history: { maxEvents: number('HISTORY_MAX_EVENTS') },
      }),
      maxConnectionsPerUser: 5,
      heartbeatIntervalMs: number('HEARTBEAT_MS'),
      retryMs: number('SSE_RETRY_MS'),
      retryJitterMs: 0,
      shutdownTimeoutMs: 1000,
      // TICKET_STORE=memory: each instance keeps its own tickets, as before the transport shared them (test/cluster-tickets).
      tickets:
        env.TICKET_STORE === 'memory'
          ? {
              store: new MemoryTicketStore({ ttlMs: 30_000, maxPerUser: 5, maxOutstanding: 10_000, keepClaims: false }),
            }
          : undefined,
    }),
  ],
  controllers: [ClusterControlController],
})
class ClusterAppModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(ClusterAppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(env.PORT), '127.0.0.1');
  console.log(`listening on ${env.PORT}`);
}

void bootstrap();
