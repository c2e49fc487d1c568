import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SseModule, SseService, type SseTransport } from '@nest-sse/server';
import { BenchTopicPolicy } from './bench-topic.policy.js';
import { nestPublisher, type Publisher, type ServerOptions } from './publisher.js';
import { LISTEN_BACKLOG } from './listen.js';

/**
 * The module's own route on Fastify: what an app gets with `SseModule.forRoot()`
 * and `FastifyAdapter`, configured like the library variant (no heartbeat, the same limit, the same topic policy).
 */
export function startFastify({ secret }: ServerOptions): Promise<Publisher> {
  return startFastifyModule(secret);
}

/** The same app on a transport of the caller's (the `redis-2` variant's instances); the in-process one without. */
export async function startFastifyModule(secret: string, transport?: SseTransport): Promise<Publisher> {
  @Module({
    imports: [SseModule.forRoot({ jwt: { secret }, heartbeatIntervalMs: 600_000, maxConnectionsPerUser: 10, transport })],
    providers: [BenchTopicPolicy],
  })
  class FastifyApp {}
  const app = await NestFactory.create<NestFastifyApplication>(FastifyApp, new FastifyAdapter(), { logger: ['error', 'warn'] });
  // Fastify listens itself (its server is not ready for a bare listen()); it takes the backlog.
  await app.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
  return nestPublisher(app, app.get(SseService));
}
