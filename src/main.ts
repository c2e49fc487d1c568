import 'reflect-metadata';

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AppModule } from './app.module.js';
import { type AppConfig, loadConfig, redactUrl } from './config.js';
import { applyHttpTimeouts } from './http-server.js';

const logger = new Logger('Demo');

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.create(AppModule.forRoot(config));
  // SIGTERM/SIGINT run the shutdown hooks, which end every open stream cleanly.
  app.enableShutdownHooks();
  // Nest's listen() takes no backlog: the app is initialised, then its server listens with one.
  await app.init();
  const server = app.getHttpServer() as Server;
  applyHttpTimeouts(server, config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen({ port: config.port, backlog: config.listenBacklog }, resolve);
  });
  if (config.jwtSecretGenerated) {
    logger.warn('*** JWT_SECRET is not set: using a random development secret. Tokens die with this process. ***');
    logger.warn('*** Set JWT_SECRET (and NODE_ENV=production) for anything but local development.               ***');
  }
  const { port } = server.address() as AddressInfo;
  logger.log(`SSE transport: ${describeTransport(config)}`);
  logger.log(`Dashboard: http://localhost:${port}/`);
}

function describeTransport(config: AppConfig): string {
  return config.sseTransport === 'redis' ? `redis at ${redactUrl(config.redisUrl!)}` : 'memory (this process only)';
}

// A bad setting or an unreachable Redis: one clear line and a failed exit, not a stack trace.
bootstrap().catch((err: unknown) => {
  logger.error(`Startup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
