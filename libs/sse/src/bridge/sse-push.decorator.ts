import 'reflect-metadata';
import { SseEventError } from '../sse-event.js';
import { SSE_PUSH_METADATA, SSE_PUSH_SINK } from './sse-bridge.constants.js';
import { checkedEventType, className } from './sse-bridge.utils.js';

/** A user id as the guard accepts it from a token's claim: a string, or a finite number. */
export type SseUserId = string | number;

/** Push `data` to every open stream of one user. */
export interface SsePushToUser<T = unknown> {
  userId: SseUserId;
  data: T;
}

/** Push `data` to every open stream of each of these users (duplicates count once). */
export interface SsePushToUsers<T = unknown> {
  userIds: Iterable<SseUserId>;
  data: T;
}

/** Push `data` to every open stream. */
export interface SsePushToAll<T = unknown> {
  broadcast: true;
  data: T;
}

/**
 * What a `@SsePush()` handler returns: who receives the push and its `data` (sent
 * as JSON). `data` is the projection: only what the handler puts there leaves the server.
 */
export type SsePushTarget<T = unknown> = SsePushToUser<T> | SsePushToUsers<T> | SsePushToAll<T>;

/** One target, several, or nothing to push (`null` / `undefined`); async handlers resolve to it. */
export type SsePushResult = SsePushTarget | readonly SsePushTarget[] | null | undefined | void;

export interface SsePushOptions {
  /** The SSE event type (the `event:` field), e.g. `notification` or `update`. */
  type: string;
}

/** Recorded on the wrapped method; read by the bridge's explorer at bootstrap. */
export interface SsePushMetadata {
  readonly type: string;
  readonly className: string;
  readonly methodName: string;
}

/** What a discovered instance calls instead of its handler: the app's bridge. */
export interface SsePushSink {
  invoke(instance: object, handler: (...args: unknown[]) => unknown, args: unknown[], push: SsePushMetadata): unknown;
}

type PushHandler = (...args: any[]) => SsePushResult | PromiseLike<SsePushResult>;

/**
 * Turns an `@OnEvent()` handler's return value into an SSE push:
 *
 * ```ts
 * @OnEvent('order.placed')
 * @SsePush({ type: 'notification' })
 * onOrderPlaced(e: OrderPlacedEvent): SsePushTarget {
 *   return { userId: e.userId, data: { orderId: e.orderId } };
 * }
 * ```
 *
 * `@OnEvent()` still subscribes and calls the handler (once); this decorator only
 * wraps it, so the result is pushed. The wrapper is inert until `SseBridgeModule`
 * discovers the instance at bootstrap: before that, or on an instance Nest did not
 * create, the method behaves exactly as written. A handler that throws or rejects,
 * or returns a target without audience or with data that is not JSON, is logged
 * with the event name; nothing is thrown into the emitter.
 */
export function SsePush(options: SsePushOptions) {
  const type = checkedEventType(options?.type, '@SsePush()');
  return <T extends PushHandler>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> => {
    const original = descriptor.value;
    if (typeof original !== 'function') {
      throw new SseEventError(`@SsePush() decorates methods only (${className(target)}.${String(key)})`);
    }
    if (Reflect.hasOwnMetadata(SSE_PUSH_METADATA, original)) {
      throw new SseEventError(`@SsePush() is applied twice to ${className(target)}.${String(key)}`);
    }
    const push: SsePushMetadata = Object.freeze({
      type,
      className: className(target),
      methodName: String(key),
    });
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const sink =
        this !== null && typeof this === 'object'
          ? (this as { [SSE_PUSH_SINK]?: SsePushSink })[SSE_PUSH_SINK]
          : undefined;
      return sink ? sink.invoke(this as object, original, args, push) : original.apply(this, args);
    };
    Object.defineProperty(wrapped, 'name', { value: original.name, configurable: true });
    // Decorators applied before this one (below it) left their metadata on the
    // original function: `@OnEvent()`'s must stay visible on what replaces it.
    for (const metadataKey of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), wrapped);
    }
    Reflect.defineMetadata(SSE_PUSH_METADATA, push, wrapped);
    descriptor.value = wrapped as unknown as T;
    return descriptor;
  };
}

export function getSsePushMetadata(method: unknown): SsePushMetadata | undefined {
  return typeof method === 'function' ? Reflect.getMetadata(SSE_PUSH_METADATA, method) : undefined;
}
