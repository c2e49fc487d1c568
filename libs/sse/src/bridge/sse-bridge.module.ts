import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';

import { SSE_BRIDGE_OPTIONS } from './sse-bridge.constants.js';
import { SseBridgeLoader } from './sse-bridge.loader.js';
import {
  ConfigurableSseBridgeModule,
  SSE_BRIDGE_MODULE_OPTIONS,
  type SSE_BRIDGE_OPTIONS_TYPE,
} from './sse-bridge.module-definition.js';
import type { SseBridgeModuleAsyncOptions } from './sse-bridge.module-options.js';
import { SseBridgeMetadataAccessor } from './sse-bridge-metadata.accessor.js';
import type { SseBridgeOptions } from './sse-bridge-options.interface.js';
import { resolveSseBridgeOptions } from './sse-bridge-options.resolver.js';
import { SseLifecycleEmitter } from './sse-lifecycle.emitter.js';
import { SsePushDispatcher } from './sse-push.dispatcher.js';

/**
 * Turns `@nestjs/event-emitter` events into SSE pushes: `@SsePush()` handlers and
 * `@SseEventMapping()` event classes; and emits the module's lifecycle as events
 * (`SSE_LIFECYCLE_EVENTS`: streams opened and ended, users online and offline). Import it once, in the root module, beside
 * `EventEmitterModule.forRoot()` and `SseModule.forRoot()`:
 *
 * ```ts
 * imports: [EventEmitterModule.forRoot(), SseModule.forRoot({ jwt }), SseBridgeModule.forRoot()]
 * ```
 *
 * or `SseBridgeModule.forRootAsync({ imports, inject, useFactory })`. An app that
 * does not import it never touches the event emitter, and its `@SsePush()`
 * handlers are never called.
 *
 * @publicApi
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: SSE_BRIDGE_OPTIONS,
      inject: [SSE_BRIDGE_MODULE_OPTIONS],
      useFactory: (options: SseBridgeOptions | undefined) => resolveSseBridgeOptions(options),
    },
    SseBridgeMetadataAccessor,
    SsePushDispatcher,
    SseBridgeLoader,
    SseLifecycleEmitter,
  ],
})
export class SseBridgeModule extends ConfigurableSseBridgeModule {
  /** Checks the options now, so a bad literal fails where the module is declared. */
  static override forRoot(options: typeof SSE_BRIDGE_OPTIONS_TYPE = {}): DynamicModule {
    resolveSseBridgeOptions(options);
    return super.forRoot(options);
  }

  /** The bridge with `SseBridgeOptions` resolved through dependency injection (`imports`, `inject`, `useFactory`). */
  static override forRootAsync(options: SseBridgeModuleAsyncOptions): DynamicModule {
    return super.forRootAsync(options);
  }
}
