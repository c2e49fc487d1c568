import { ConfigurableModuleBuilder } from '@nestjs/common';

import { DEFAULT_SSE_EXTRAS } from './options/sse.defaults.js';
import type { SseModuleExtras, SseModuleOptions } from './options/sse-options.interface.js';
import { resolveSseExtras } from './options/sse-options.resolver.js';
import { createSseController } from './sse.controller.js';
import { SSE_MAX_PENDING_DATA_LENGTH, SSE_ROUTE_PATH, SSE_TICKET_SCOPE } from './sse.tokens.js';

export const {
  ConfigurableModuleClass: ConfigurableSseModule,
  MODULE_OPTIONS_TOKEN: SSE_MODULE_OPTIONS,
  OPTIONS_TYPE: SSE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SSE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SseModuleOptions>({ moduleName: 'Sse' })
  .setClassMethodName('forRoot')
  .setExtras<SseModuleExtras>(
    // Every extra needs a default here: Nest tells extras from module options by these keys.
    { ...DEFAULT_SSE_EXTRAS },
    // The route is declared here, not by a provider: its path and back-pressure
    // limit are decorator arguments, so they must be known when the module is defined.
    (definition, extras) => {
      const { path, maxPendingDataLength, isGlobal, route } = resolveSseExtras(extras);
      return {
        ...definition,
        global: isGlobal,
        controllers: route ? [createSseController(path, maxPendingDataLength)] : [],
        // A null path tells SseModule to add no CORS middleware either.
        providers: [
          ...(definition.providers ?? []),
          { provide: SSE_ROUTE_PATH, useValue: route ? path : null },
          { provide: SSE_MAX_PENDING_DATA_LENGTH, useValue: maxPendingDataLength },
          // Tickets are the module's, route or not: route: false apps issue them from their own POST.
          { provide: SSE_TICKET_SCOPE, useValue: path },
        ],
      };
    },
  )
  .build();
