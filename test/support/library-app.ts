import { SseModule, type SseModuleExtras, type SseModuleOptions } from '@nest-sse/server';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { listen, type RunningApp, TEST_SECRET } from './demo-app.js';
import { createApp, type ServeOptions } from './nest-app.factory.js';

/** The library alone, as a user's app would import it, with the options under test, on the platform given. */
export async function startLibrary(
  options: Partial<SseModuleOptions> = {},
  extras: SseModuleExtras = {},
  serve: ServeOptions = {},
): Promise<RunningApp> {
  @Module({ imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, ...options, ...extras })] })
  class TestAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  return listen(createApp(moduleRef, serve), { tls: serve.tls !== undefined });
}
