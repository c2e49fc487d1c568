import { type DynamicModule, Module } from '@nestjs/common';
import { Registry } from 'prom-client';

import { SSE_METRICS_REGISTRY } from './sse-metrics.constants.js';
import { SseMetricsExporter } from './sse-metrics.exporter.js';
import {
  ConfigurableSseMetricsModule,
  SSE_METRICS_MODULE_OPTIONS,
  type SSE_METRICS_OPTIONS_TYPE,
} from './sse-metrics.module-definition.js';
import type { SseMetricsModuleAsyncOptions } from './sse-metrics.module-options.js';
import type { SseMetricsOptions } from './sse-metrics-options.interface.js';

/**
 * Prometheus metrics of `SseModule` through `prom-client`: the figures of
 * `SseService.stats()`, read when scraped. Import it beside `SseModule.forRoot()`:
 *
 * ```ts
 * imports: [SseModule.forRoot({ jwt }), SseMetricsModule.forRoot({ registry })]
 * ```
 *
 * or `SseMetricsModule.forRootAsync({ inject, useFactory })`. Without a
 * `registry` it makes its own, injectable as `SSE_METRICS_REGISTRY`; it never
 * touches prom-client's global registry unless that is the one passed.
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: SSE_METRICS_REGISTRY,
      inject: [SSE_METRICS_MODULE_OPTIONS],
      useFactory: (options: SseMetricsOptions) => options.registry ?? new Registry(),
    },
    SseMetricsExporter,
  ],
  exports: [SSE_METRICS_REGISTRY],
})
export class SseMetricsModule extends ConfigurableSseMetricsModule {
  /** `forRoot()` alone: a registry of its own, names prefixed `sse_`. */
  static override forRoot(options: typeof SSE_METRICS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** The module with `SseMetricsOptions` resolved through dependency injection (`imports`, `inject`, `useFactory`). */
  static override forRootAsync(options: SseMetricsModuleAsyncOptions): DynamicModule {
    return super.forRootAsync(options);
  }
}
