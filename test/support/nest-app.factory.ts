import type { INestApplication, LogLevel } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';

/** The HTTP platforms the route-related suites run on, as one parameterised suite each. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** How an app under test is served: the platform, and for Fastify HTTP/2 (h2c, or TLS with `tls`). */
export interface ServeOptions {
  adapter?: AdapterName;
  http2?: boolean;
  /** PEM key and certificate: HTTP/2 over TLS, which also accepts HTTP/1.1 (ALPN). Needs `http2`. */
  tls?: { key: string; cert: string };
  /** More of Fastify's server options (e.g. `handlerTimeout`). */
  fastify?: { handlerTimeout?: number };
  logger?: LogLevel[] | false;
}

export function createApp(
  moduleRef: TestingModule,
  { adapter = 'express', http2, tls, fastify = {}, logger = ['error'] }: ServeOptions = {},
): INestApplication {
  if (adapter === 'express') {
    if (http2 || tls) throw new Error('HTTP/2 and TLS are served by the fastify adapter in these tests');
    return moduleRef.createNestApplication({ logger });
  }
  const platform = http2
    ? new FastifyAdapter({ ...fastify, http2: true, ...(tls ? { https: { ...tls, allowHTTP1: true } } : {}) })
    : new FastifyAdapter(fastify);
  return moduleRef.createNestApplication(platform, { logger });
}
