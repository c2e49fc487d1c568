import 'reflect-metadata';
import { extendArrayMetadata } from '@nestjs/common/utils/extend-metadata.util.js';
import { SseEventError } from '../sse.exceptions.js';
import { eventTypeProblem } from '../sse-wire.rules.js';
import { SSE_PUSH_METADATA } from './sse-bridge.constants.js';
import { className, formatEventName, isPushEvent, isSameEvent } from './sse-bridge.utils.js';
import type { SsePushResult } from './sse-push-target.interface.js';

/** An event name as EventEmitter2 takes it (and `@OnEvent()`): a name, a symbol, or a namespace as an array of them. */
export type SsePushEvent = string | symbol | Array<string | symbol>;

export interface SsePushOptions {
  /** The SSE event type (the `event:` field), e.g. `notification` or `update`. */
  type: string;
}

/** One `@SsePush()` on a method; the bridge's loader reads them at bootstrap. */
export interface SsePushMetadata {
  readonly event: SsePushEvent;
  readonly type: string;
}

type PushHandler = (...args: any[]) => SsePushResult | PromiseLike<SsePushResult>;

/**
 * Subscribes a method to an emitted event and pushes what it returns, like
 * `@OnEvent(event)` whose result is sent:
 *
 * ```ts
 * @SsePush('order.placed', { type: 'notification' })
 * onOrderPlaced(e: OrderPlacedEvent): SsePushTarget {
 *   return { userId: e.userId, data: { orderId: e.orderId } };
 * }
 * ```
 *
 * Repeat it for several events. It only records metadata: `SseBridgeModule`
 * subscribes the method at bootstrap and sends its result, so no `@OnEvent()`
 * is needed (one for the same event would call the method twice, and fails
 * bootstrap). Without the bridge in the app the method is never called by events.
 * A handler that throws or rejects, or returns a target without audience or with
 * data that is not JSON, is logged with the event name; nothing is thrown into the emitter.
 */
export function SsePush(event: SsePushEvent, options: SsePushOptions) {
  if (!isPushEvent(event)) {
    const oldForm = event !== null && typeof event === 'object' && 'type' in event;
    throw new SseEventError(
      oldForm
        ? "@SsePush() takes the event first and subscribes to it: @SsePush('order.placed', { type }) replaces @OnEvent('order.placed') + @SsePush({ type })"
        : '@SsePush() needs the event to subscribe to: a name, a symbol or an array of them',
    );
  }
  const where = `@SsePush(${formatEventName(event)})`;
  const problem = eventTypeProblem(options?.type);
  if (problem) throw new SseEventError(`${where}: ${problem}`);
  const push: SsePushMetadata = Object.freeze({ event, type: options.type });
  return <T extends PushHandler>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> => {
    const method = descriptor.value;
    const name = `${className(target)}.${String(key)}`;
    if (typeof method !== 'function') throw new SseEventError(`${where} decorates methods only (${name})`);
    // Checked here, where it is a mistake in one class: the loader would subscribe it twice.
    const recorded = (Reflect.getOwnMetadata(SSE_PUSH_METADATA, method) ?? []) as SsePushMetadata[];
    if (recorded.some((other) => isSameEvent(other.event, event))) {
      throw new SseEventError(`${where} is applied twice to ${name}`);
    }
    extendArrayMetadata(SSE_PUSH_METADATA, [push], method);
    return descriptor;
  };
}
