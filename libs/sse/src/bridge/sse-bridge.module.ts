import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { SSE_BRIDGE_OPTIONS } from './sse-bridge.constants.js';
import { SseBridgeExplorer } from './sse-bridge.explorer.js';
import { SseBridge } from './sse-bridge.js';
import { resolveSseBridgeOptions, type SseBridgeOptions } from './sse-bridge.options.js';

/**
 * Turns `@nestjs/event-emitter` events into SSE pushes: `@SsePush()` handlers and
 * `@SseEventMapping()` event classes. Import it once, in the root module, beside
 * `EventEmitterModule.forRoot()` and `SseModule.forRoot()`:
 *
 * ```ts
 * imports: [EventEmitterModule.forRoot(), SseModule.forRoot({ jwt }), SseBridgeModule.forRoot()]
 * ```
 *
 * An app that does not import it never touches the event emitter.
 */
@Module({})
export class SseBridgeModule {
  static forRoot(options: SseBridgeOptions = {}): DynamicModule {
    return {
      module: SseBridgeModule,
      imports: [DiscoveryModule],
      providers: [
        { provide: SSE_BRIDGE_OPTIONS, useValue: resolveSseBridgeOptions(options) },
        SseBridge,
        SseBridgeExplorer,
      ],
    };
  }
}
