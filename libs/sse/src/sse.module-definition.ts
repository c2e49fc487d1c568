import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createSseController } from './sse.controller.js';
import { DEFAULT_SSE_EXTRAS } from './sse.constants.js';
import type { SseModuleExtras, SseModuleOptions } from './sse-options.interface.js';
import { resolveSseExtras } from './sse-options.resolver.js';
import { SSE_ROUTE_PATH } from './sse.tokens.js';

export const {
  ConfigurableModuleClass: ConfigurableSseModule,
  MODULE_OPTIONS_TOKEN: SSE_MODULE_OPTIONS,
  OPTIONS_TYPE: SSE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SSE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SseModuleOptions>({ moduleName: 'Sse' })
  .setClassMethodName('forRoot')
  .setExtras<SseModuleExtras>(
    { ...DEFAULT_SSE_EXTRAS },
    // The route is declared here, not by a provider: its path and back-pressure
    // limit are decorator arguments, so they must be known when the module is defined.
    (definition, extras) => {
      const { path, maxPendingDataLength, isGlobal } = resolveSseExtras(extras);
      return {
        ...definition,
        global: isGlobal,
        controllers: [createSseController(path, maxPendingDataLength)],
        providers: [...(definition.providers ?? []), { provide: SSE_ROUTE_PATH, useValue: path }],
      };
    },
  )
  .build();
