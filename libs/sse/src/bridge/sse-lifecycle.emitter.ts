import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';

import { SseLifecycleHub } from '../observe/sse-lifecycle.hub.js';
import { SSE_BRIDGE_OPTIONS } from './sse-bridge.constants.js';
import { formatEventName } from './sse-bridge.utils.js';
import type { ResolvedSseBridgeOptions } from './sse-bridge-options.interface.js';
import { SSE_LIFECYCLE_EVENTS } from './sse-lifecycle.events.js';

/**
 * Re-emits what the module's lifecycle hub reports as `EventEmitter2` events
 * (see `SSE_LIFECYCLE_EVENTS`), unless `lifecycleEvents: false`.
 *
 * Each is emitted in a microtask after it happened: handlers never run inside
 * the module's bookkeeping of a stream, and a push from a `sse.connected` or
 * `sse.user.online` handler reaches the stream that just opened. A handler that
 * throws or rejects is logged; the stream and the other events go on.
 */
@Injectable()
export class SseLifecycleEmitter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SseBridge');
  private stopListening?: () => void;

  // Explicit tokens: a type `T | undefined` is emitted as `Object` by per-file transpilers.
  constructor(
    @Optional() @Inject(SseLifecycleHub) private readonly hub: SseLifecycleHub | undefined,
    @Optional() @Inject(EventEmitter2) private readonly emitter: EventEmitter2 | undefined,
    @Inject(SSE_BRIDGE_OPTIONS) private readonly options: ResolvedSseBridgeOptions,
  ) {}

  onModuleInit(): void {
    // A missing SseModule or EventEmitter2 is reported by the loader and the dispatcher.
    if (!this.options.lifecycleEvents || !this.hub || !this.emitter) return;
    const { connected, disconnected, userOnline, userOffline } = SSE_LIFECYCLE_EVENTS;
    this.stopListening = this.hub.listen({
      connected: ({ userId, topics }) => this.emit(connected, { userId, topics }),
      disconnected: ({ userId, topics }, reason) => this.emit(disconnected, { userId, topics, reason }),
      userOnline: (userId) => this.emit(userOnline, { userId }),
      userOffline: (userId) => this.emit(userOffline, { userId }),
    });
  }

  /** After the streams ended at shutdown (their `sse.disconnected` with reason `shutdown` went out). */
  onApplicationShutdown(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  private emit(event: string, payload: object): void {
    const emitter = this.emitter!;
    queueMicrotask(() => {
      const failed = (err: unknown) =>
        this.logger.error(`a listener of ${formatEventName(event)} failed: ${(err as Error)?.message ?? err}`);
      try {
        // emitAsync: a handler that rejects (an @OnEvent with suppressErrors: false) is caught here too.
        emitter.emitAsync(event, payload).then(undefined, failed);
      } catch (err) {
        failed(err);
      }
    });
  }
}
