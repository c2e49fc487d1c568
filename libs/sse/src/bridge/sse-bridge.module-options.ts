import type { SSE_BRIDGE_ASYNC_OPTIONS_TYPE } from './sse-bridge.module-definition.js';

/**
 * What `SseBridgeModule.forRootAsync()` takes: `imports`, `inject` and
 * `useFactory` (or `useClass` / `useExisting`) resolving `SseBridgeOptions`.
 *
 * @publicApi
 */
export type SseBridgeModuleAsyncOptions = typeof SSE_BRIDGE_ASYNC_OPTIONS_TYPE;
