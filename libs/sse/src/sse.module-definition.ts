import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createSseController } from './sse.controller.js';
import { DEFAULT_MAX_PENDING_DATA_LENGTH, DEFAULT_SSE_PATH } from './sse.constants.js';
import type { SseModuleExtras, SseModuleOptions } from './sse-options.interface.js';
import { SSE_ROUTE_PATH } from './sse.tokens.js';

export const {
  ConfigurableModuleClass: ConfigurableSseModule,
  MODULE_OPTIONS_TOKEN: SSE_MODULE_OPTIONS,
  OPTIONS_TYPE: SSE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SSE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SseModuleOptions>({ moduleName: 'Sse' })
  .setClassMethodName('forRoot')
  .setExtras<SseModuleExtras>(
    { path: DEFAULT_SSE_PATH, maxPendingDataLength: DEFAULT_MAX_PENDING_DATA_LENGTH, isGlobal: true },
    // The route is declared here, not by a provider: its path and back-pressure
    // limit are decorator arguments, so they must be known when the module is defined.
    (definition, extras) => {
      const path = extras.path ?? DEFAULT_SSE_PATH;
      if (!path.startsWith('/')) {
        throw new Error(`SseModule: path must start with '/', got '${path}'`);
      }
      return {
        ...definition,
        global: extras.isGlobal ?? true,
        controllers: [
          createSseController(path, extras.maxPendingDataLength ?? DEFAULT_MAX_PENDING_DATA_LENGTH),
        ],
        providers: [...(definition.providers ?? []), { provide: SSE_ROUTE_PATH, useValue: path }],
      };
    },
  )
  .build();
