import { ConfigurableModuleBuilder } from '@nestjs/common';

import type { SseBridgeOptions } from './sse-bridge-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableSseBridgeModule,
  MODULE_OPTIONS_TOKEN: SSE_BRIDGE_MODULE_OPTIONS,
  OPTIONS_TYPE: SSE_BRIDGE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SSE_BRIDGE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SseBridgeOptions>({ moduleName: 'SseBridge' }).setClassMethodName('forRoot').build();
