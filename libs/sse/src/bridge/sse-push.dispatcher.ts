import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';

import { SseService } from '../sse.service.js';
import { isThenable } from '../utils/is-thenable.js';
import { PushSequencer } from './push-sequencer.js';
import { SSE_BRIDGE_OPTIONS } from './sse-bridge.constants.js';
import type { ResolvedSseBridgeOptions } from './sse-bridge-options.interface.js';
import type { SseEventMappingMetadata } from './sse-event-mapping.decorator.js';
import {
  parseMappedEvent,
  parsePushResult,
  type SsePushDelivery,
  SsePushTargetError,
} from './sse-push-target.parser.js';

/** Where a push came from, for ordering and for the log line of a failure. */
export interface SsePushLabel {
  /** The event's name, as subscribed (handlers) or as emitted (mappings). */
  readonly event: string;
  /** `Class.method` of a handler, or `@SseEventMapping(Class)`. */
  readonly source: string;
  /** The SSE event type. */
  readonly type: string;
}

/** What waits in the sequencer: checked pushes, or the failure of an async handler. */
type PushOutcome = { kind: 'ready'; deliveries: SsePushDelivery[] } | { kind: 'failed'; error: unknown };

/**
 * Turns handler results and mapped events into `SseService` calls, in emit order,
 * and every way a push can fail into one log line naming the event. Nothing here
 * throws into the emitter, and one failed push never stops another.
 */
@Injectable()
export class SsePushDispatcher implements OnApplicationShutdown {
  private readonly logger = new Logger('SseBridge');
  private readonly sequencer: PushSequencer<SsePushLabel, PushOutcome>;
  private readonly sse: SseService;

  // Explicit tokens: a type `T | undefined` is emitted as `Object` by per-file transpilers.
  constructor(
    @Optional() @Inject(SseService) sse: SseService | undefined,
    @Inject(SSE_BRIDGE_OPTIONS) private readonly options: ResolvedSseBridgeOptions,
  ) {
    if (!sse) {
      throw new Error(
        'SseBridgeModule needs SseService: import SseModule.forRoot() in the app (global, as by default: not with isGlobal: false)',
      );
    }
    this.sse = sse;
    this.sequencer = new PushSequencer<SsePushLabel, PushOutcome>({
      timeoutMs: options.handlerTimeoutMs,
      maxPending: options.maxPendingPushes,
      deliver: (label, outcome) => this.deliver(label, outcome),
      onTimeout: (label) =>
        this.fail(
          label,
          `the handler did not settle within ${this.options.handlerTimeoutMs} ms; its push is dropped and the pushes behind it go on`,
        ),
      onLate: (label) => this.fail(label, 'the handler settled after its timeout; its push was dropped'),
      onOverflow: (label) =>
        this.fail(
          label,
          `${this.options.maxPendingPushes} pushes are already waiting on slower handlers; this one is dropped`,
        ),
      onRejected: (label, error) => this.fail(label, 'the handler rejected', error),
    });
  }

  /** Pushes waiting behind an unsettled async handler. */
  get pending(): number {
    return this.sequencer.pending;
  }

  /**
   * Calls a `@SsePush()` handler now and queues what it returns. Returns the
   * handler's result (for `emitAsync()`), or a promise of it that never rejects:
   * a rejection is logged here, and one from `emitAsync()` would reach the caller.
   */
  runHandler(label: SsePushLabel, handler: () => unknown): unknown {
    let result: unknown;
    try {
      result = handler();
    } catch (error) {
      this.fail(label, 'the handler threw', error);
      return undefined;
    }
    if (!isThenable(result)) {
      this.sequencer.submit(label, { kind: 'ready', deliveries: this.parse(label, result) });
      return result;
    }
    let value: unknown;
    const settled = Promise.resolve(result).then(
      (resolved): PushOutcome => {
        value = resolved;
        return { kind: 'ready', deliveries: this.parse(label, resolved) };
      },
      (error: unknown): PushOutcome => ({ kind: 'failed', error }),
    );
    this.sequencer.submit(label, settled);
    return settled.then((outcome) => (outcome.kind === 'ready' ? value : undefined));
  }

  /** Queues the push of an emitted instance of an `@SseEventMapping()` class. */
  pushMapped(event: string, mapping: SseEventMappingMetadata, payload: object): void {
    const label: SsePushLabel = { event, source: `@SseEventMapping(${mapping.className})`, type: mapping.type };
    let delivery: SsePushDelivery;
    try {
      delivery = parseMappedEvent(mapping, payload);
    } catch (error) {
      this.fail(label, error instanceof SsePushTargetError ? error.message : 'the mapping threw', error);
      return;
    }
    this.sequencer.submit(label, { kind: 'ready', deliveries: [delivery] });
  }

  /** Drops what waits and stops timers; later pushes are ignored. */
  close(): void {
    this.sequencer.close();
  }

  onApplicationShutdown(): void {
    this.close();
  }

  /** Checked as soon as the result is known, so a bad target is logged even while its turn waits. */
  private parse(label: SsePushLabel, value: unknown): SsePushDelivery[] {
    return parsePushResult(value, (error) =>
      this.fail(label, error instanceof SsePushTargetError ? error.message : 'the target could not be read', error),
    );
  }

  private deliver(label: SsePushLabel, outcome: PushOutcome): void {
    if (outcome.kind === 'failed') {
      this.fail(label, 'the handler rejected', outcome.error);
      return;
    }
    for (const delivery of outcome.deliveries) this.pushOne(label, delivery);
  }

  /** One push; whatever goes wrong with it is logged and stops nothing else. */
  private pushOne(label: SsePushLabel, { audience, data }: SsePushDelivery): void {
    const event = { type: label.type, data };
    try {
      switch (audience.kind) {
        case 'all':
          this.sse.broadcast(event);
          break;
        case 'user':
          this.sse.sendToUser(audience.userId, event);
          break;
        case 'users':
          if (audience.userIds.length > 0) this.sse.sendToUsers(audience.userIds, event);
          break;
        case 'topics':
          // One event per topic, each kept in its own topic's history for replay.
          for (const topic of audience.topics) this.sse.publish(topic, event);
          break;
      }
    } catch (error) {
      this.fail(label, 'SseService refused it', error);
    }
  }

  private fail(label: SsePushLabel, reason: string, error?: unknown): void {
    const message = `SSE push '${label.type}' for event '${label.event}' from ${label.source} failed: ${reason}`;
    if (error instanceof SsePushTargetError || error === undefined) {
      this.logger.error(message);
    } else {
      this.logger.error(`${message}: ${describe(error)}`, error instanceof Error ? error.stack : undefined);
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
