import 'reflect-metadata';

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { type DynamicModule, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { REPO_ROOT } from '../shared/paths.js';
import { BenchTopicPolicy } from './bench-topic.policy.js';
import { listenNest } from './listen.js';
import { nestPublisher, type Publisher, type ServerOptions, type SseServiceApi } from './publisher.js';

/** Loaded from `nest build`'s output, so the benchmark measures what ships (and one copy of each class). */
async function importBuilt<T>(relativePath: string): Promise<T> {
  return (await import(pathToFileURL(join(REPO_ROOT, relativePath)).href)) as T;
}

/**
 * The demo app with this library, configured as in production except for the
 * heartbeat, plus the benchmark's topic policy (`bench/:n`, beside the demo's
 * own), so every variant's streams subscribe to the same topics.
 */
export async function startLibrary({ secret }: ServerOptions): Promise<Publisher> {
  const { AppModule } = await importBuilt<{ AppModule: { forRoot(config: unknown): DynamicModule } }>(
    'dist/src/app.module.js',
  );
  const { loadConfig } = await importBuilt<{ loadConfig: (env: NodeJS.ProcessEnv) => unknown }>('dist/src/config.js');
  // The package the built app imports (node_modules/@nest-sse/server, its dist), so it is the same SseService class.
  const { SseService } = (await import('@nest-sse/server')) as unknown as {
    SseService: new (...args: never[]) => SseServiceApi;
  };

  const config = loadConfig({
    JWT_SECRET: secret,
    NODE_ENV: 'production',
    // No heartbeat during the run: the plain and naive servers send none either.
    SSE_HEARTBEAT_MS: '600000',
    SSE_MAX_CONNECTIONS_PER_USER: '10',
  });
  @Module({ imports: [AppModule.forRoot(config)], providers: [BenchTopicPolicy] })
  class LibraryBench {}
  const app: INestApplication = await NestFactory.create(LibraryBench, { logger: ['error', 'warn'] });
  await listenNest(app);
  const sse = app.get(SseService);

  return nestPublisher(app, sse);
}
