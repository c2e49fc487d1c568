import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

import { SSE_TRANSPORT } from '../sse.tokens.js';
import { SseConnectionRegistry } from '../streams/sse-connection.registry.js';
import type { SseTransport } from '../transport/sse-transport.interface.js';

/** How long `isHealthy()` waits on the transport's ping by default. */
export const DEFAULT_SSE_HEALTH_TIMEOUT_MS = 1000;

/**
 * Options of one `SseHealthIndicator.isHealthy()` check.
 *
 * @publicApi
 */
export interface SseHealthCheckOptions {
  /** How long the transport (Redis) may take to answer before the check is down. Default 1000 ms. */
  timeoutMs?: number;
}

/**
 * A `@nestjs/terminus` health indicator for the SSE module: down once shutdown
 * began (no stream opens any more), and down while the transport does not answer
 * its ping (Redis, with `@nest-sse/server/redis`), up otherwise.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.sse.isHealthy('sse')]); }
 * ```
 *
 * @publicApi
 */
@Injectable()
export class SseHealthIndicator implements OnModuleInit {
  private registry!: SseConnectionRegistry;
  private transport!: SseTransport;

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * SseModule exports neither its registry nor its transport: they are found
   * across the app, as terminus's own indicators find an ORM's connection.
   */
  onModuleInit(): void {
    try {
      this.registry = this.moduleRef.get(SseConnectionRegistry, { strict: false });
      this.transport = this.moduleRef.get<SseTransport>(SSE_TRANSPORT, { strict: false });
    } catch {
      throw new Error('SseHealthIndicator needs SseModule: import SseModule.forRoot() in the app');
    }
  }

  async isHealthy<const Key extends string = 'sse'>(
    key: Key = 'sse' as Key,
    { timeoutMs = DEFAULT_SSE_HEALTH_TIMEOUT_MS }: SseHealthCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    if (this.registry.isShuttingDown()) return indicator.down({ message: 'shutting down: no stream opens' });
    try {
      await this.transport.ping?.(timeoutMs);
    } catch (err) {
      return indicator.down({ message: `transport unreachable: ${(err as Error)?.message ?? err}` });
    }
    return indicator.up();
  }
}
