import 'reflect-metadata';

import type { AddressInfo } from 'node:net';

import { SseModule } from '@nest-sse/server';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/**
 * A user's app, run as its own process by test/shutdown.e2e-spec.ts (compiled
 * fresh by test/support/fresh-build.ts): the module's route, settings from the
 * environment, and a revocation check that takes `SLOW_REVOKE_MS` for the user
 * `slow` (a remote lookup), so that a request can be inside the guard when SIGTERM comes.
 */
const env = process.env;
const number = (name: string): number | undefined => (env[name] === undefined ? undefined : Number(env[name]));
const slowRevokeMs = number('SLOW_REVOKE_MS') ?? 0;

@Module({
  imports: [
    SseModule.forRoot({
      jwt: {
        secret: env.JWT_SECRET!,
        isRevoked: async (claims) => {
          if (claims.sub === 'slow') {
            console.log('revocation check: slow');
            await new Promise((resolve) => setTimeout(resolve, slowRevokeMs));
          }
          return false;
        },
      },
      heartbeatIntervalMs: 0,
      retryMs: number('SSE_RETRY_MS'),
      retryJitterMs: number('SSE_RETRY_JITTER_MS'),
      shutdownTimeoutMs: number('SSE_SHUTDOWN_TIMEOUT_MS'),
    }),
  ],
})
class ShutdownAppModule {}

async function bootstrap(): Promise<void> {
  const options = { logger: ['error' as const, 'warn' as const] };
  const app =
    env.ADAPTER === 'fastify'
      ? await NestFactory.create(ShutdownAppModule, new FastifyAdapter(), options)
      : await NestFactory.create(ShutdownAppModule, options);
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  console.log(`listening on ${(app.getHttpServer().address() as AddressInfo).port}`);
}

void bootstrap();
