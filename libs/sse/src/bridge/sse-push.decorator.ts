import 'reflect-metadata';

import { eventTypeProblem } from '@nest-sse/protocol';
import { extendArrayMetadata } from '@nestjs/common/utils/extend-metadata.util.js';

import { SseEventError } from '../sse.exceptions.js';
import type { SseEventMap, SseEventType } from '../wire/sse-event.interface.js';
import { SSE_PUSH_METADATA } from './sse-bridge.constants.js';
import { className, formatEventName, isPushEvent, isSameEvent } from './sse-bridge.utils.js';
import type { SsePushResult } from './sse-push-target.interface.js';

/**
 * An event name as EventEmitter2 takes it (and `@OnEvent()`): a name, a symbol, or a namespace as an array of them.
 *
 * @publicApi
 */
export type SsePushEvent = string | symbol | Array<string | symbol>;

/**
 * The options of `@SsePush()`.
 *
 * @publicApi
 */
export interface SsePushOptions<
  TEvents extends Record<string, any> = SseEventMap,
  K extends SseEventType<TEvents> = SseEventType<TEvents>,
> {
  /** The SSE event type (the `event:` field), e.g. `notification` or `update`: a type of the event map. */
  type: K;
}

/**
 * A method that `@SsePush()` may decorate: it returns targets whose data is `T`, directly or as a Promise.
 *
 * @publicApi
 */
export type SsePushHandler<T = unknown> = (...args: any[]) => SsePushResult<T> | PromiseLike<SsePushResult<T>>;

/**
 * What `@SsePush()` returns: a method decorator that accepts only handlers whose targets carry `T`.
 *
 * @publicApi
 */
export type SsePushMethodDecorator<T = unknown> = <M extends SsePushHandler<T>>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => TypedPropertyDescriptor<M>;

/**
 * `@SsePush()` typed by an app's event map, bound once so that each use names
 * only its event type (TypeScript cannot infer the type name once the map is
 * given explicitly):
 *
 * ```ts
 * export const AppPush: SsePushDecorator<AppEvents> = SsePush;
 *
 * @AppPush('order.placed', { type: 'notification' })   // a type of AppEvents
 * orderPlaced(e: OrderPlacedEvent) {
 *   return { userId: e.userId, data: { orderId: e.orderId, item: e.item } }; // AppEvents['notification']
 * }
 * ```
 *
 * Data with literal types (`status: 'shipped'`) needs the handler's return type
 * declared, `SsePushTarget<AppEvents['update']>`, since a method's inferred
 * return type widens them.
 *
 * @publicApi
 */
export interface SsePushDecorator<TEvents extends Record<string, any> = SseEventMap> {
  <K extends SseEventType<TEvents>>(
    event: SsePushEvent,
    options: SsePushOptions<TEvents, K>,
  ): SsePushMethodDecorator<TEvents[K]>;
}

/** One `@SsePush()` on a method; the bridge's loader reads them at bootstrap. */
export interface SsePushMetadata {
  readonly event: SsePushEvent;
  readonly type: string;
}

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
 *
 * Typed by an app's event map (`SseEventMap`), `type` must be one of its types
 * and the handler's targets must carry that type's data: bind it once as an
 * `SsePushDecorator<AppEvents>`, or write `@SsePush<AppEvents, 'notification'>(...)`.
 *
 * @publicApi
 */
export function SsePush<
  TEvents extends Record<string, any> = SseEventMap,
  K extends SseEventType<TEvents> = SseEventType<TEvents>,
>(event: SsePushEvent, options: SsePushOptions<TEvents, K>): SsePushMethodDecorator<TEvents[K]> {
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
  return <M extends SsePushHandler<TEvents[K]>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): TypedPropertyDescriptor<M> => {
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
