import { ConfigurableModuleBuilder } from '@nestjs/common';

import type { SseMetricsModuleExtras, SseMetricsOptions } from './sse-metrics-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableSseMetricsModule,
  MODULE_OPTIONS_TOKEN: SSE_METRICS_MODULE_OPTIONS,
  OPTIONS_TYPE: SSE_METRICS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SSE_METRICS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SseMetricsOptions>({ moduleName: 'SseMetrics' })
  .setClassMethodName('forRoot')
  .setExtras<SseMetricsModuleExtras>({ isGlobal: true }, (definition, { isGlobal }) => ({
    ...definition,
    global: isGlobal,
  }))
  .build();
