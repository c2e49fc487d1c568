import type { AddressInfo } from 'node:net';

import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import jwt from 'jsonwebtoken';

import { AppModule } from '../../src/app.module.js';
import { type AppConfig, loadConfig } from '../../src/config.js';
import { type AdapterName, createApp } from './nest-app.factory.js';

export const TEST_SECRET = 'test-secret-for-e2e-only';

export interface RunningApp {
  app: INestApplication;
  baseUrl: string;
  close(): Promise<void>;
}

/** Listens on an ephemeral loopback port: every test talks to it over a real socket. */
export async function listen(app: INestApplication, { tls = false }: { tls?: boolean } = {}): Promise<RunningApp> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, baseUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, close: () => app.close() };
}

/** The demo as configured by `env` (on top of a test secret, with dev tokens on), then `overrides`. */
export async function startDemo(
  overrides: Partial<AppConfig> = {},
  adapter: AdapterName = 'express',
  env: NodeJS.ProcessEnv = {},
): Promise<RunningApp> {
  const config = { ...loadConfig({ JWT_SECRET: TEST_SECRET, DEV_TOKENS: '1', ...env }), ...overrides };
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
  return listen(createApp(moduleRef, { adapter }));
}

export function signToken(
  userId: string | undefined,
  claims: Record<string, unknown> = {},
  options: jwt.SignOptions = {},
  secret: jwt.Secret = TEST_SECRET,
): string {
  const payload = userId === undefined ? { ...claims } : { sub: userId, ...claims };
  const expiry = 'exp' in payload ? {} : { expiresIn: '1h' as const };
  return jwt.sign(payload, secret, { algorithm: 'HS256', ...expiry, ...options });
}
