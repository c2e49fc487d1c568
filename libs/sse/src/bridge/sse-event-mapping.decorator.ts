import 'reflect-metadata';

import { eventTypeProblem } from '@nest-sse/protocol';
import { SetMetadata } from '@nestjs/common';

import { SseEventError } from '../sse.exceptions.js';
import type { SseEventMap, SseEventType } from '../wire/sse-event.interface.js';
import { SSE_EVENT_MAPPING_METADATA } from './sse-bridge.constants.js';
import { className } from './sse-bridge.utils.js';
import type { SseUserId } from './sse-push-target.interface.js';

/**
 * Who receives a mapped event: one user id, several (an empty list pushes nothing),
 * or `null` / `undefined`, which is a failed mapping (logged, nothing pushed).
 *
 * @publicApi
 */
export type SseAudience = SseUserId | Iterable<SseUserId> | null | undefined;

/**
 * The topics a mapped event is published to (`to: { topic }`): one name, several
 * (one event per topic; an empty list pushes nothing), or `null` / `undefined`,
 * which is a failed mapping (logged, nothing pushed).
 *
 * @publicApi
 */
export type SseTopicAudience = string | Iterable<string> | null | undefined;

/**
 * The options of `@SseEventMapping()` for event class `E`. With an event map,
 * one member per type, so `data` must return the data of the `type` given.
 *
 * @publicApi
 */
export type SseEventMappingOptions<E extends object, TEvents extends Record<string, any> = SseEventMap> = {
  [K in SseEventType<TEvents>]: {
    /** The SSE event type (the `event:` field): a type of the event map. */
    type: K;
    /**
     * `'all'` for every open stream, a function of the event returning the user id(s),
     * or `{ topic }`: a function of the event returning the topic name(s).
     */
    to: 'all' | ((event: E) => SseAudience) | { topic: (event: E) => SseTopicAudience };
    /**
     * The projection sent as JSON. Required: the event object itself is never sent
     * unless this function returns it.
     */
    data: (event: E) => TEvents[K];
  };
}[SseEventType<TEvents>];

/**
 * `@SseEventMapping()` typed by an app's event map, bound once:
 *
 * ```ts
 * export const AppEventMapping: SseEventMappingDecorator<AppEvents> = SseEventMapping;
 *
 * @AppEventMapping<AnnouncementPublishedEvent>({ type: 'update', to: 'all', data: (e) => ({ message: e.message }) })
 * ```
 *
 * @publicApi
 */
export interface SseEventMappingDecorator<TEvents extends Record<string, any> = SseEventMap> {
  <E extends object>(options: SseEventMappingOptions<E, TEvents>): (target: abstract new (...args: any[]) => E) => void;
}

export interface SseEventMappingMetadata {
  readonly type: string;
  readonly to: 'all' | ((event: object) => SseAudience) | { readonly topic: (event: object) => SseTopicAudience };
  readonly data: (event: object) => unknown;
  readonly className: string;
}

/**
 * Declares how instances of a domain event class become an SSE push, so that
 * emitting one (under any event name) pushes it with no handler:
 *
 * ```ts
 * @SseEventMapping<AnnouncementPublishedEvent>({
 *   type: 'update',
 *   to: 'all',
 *   data: (e) => ({ message: e.message }),
 * })
 * export class AnnouncementPublishedEvent { ... }
 * ```
 *
 * The mapping is read from the first argument of every `emit()` (subclasses
 * inherit it); `to` and `data` run synchronously at emit time. Options are
 * checked here, so a bad mapping fails when its class is defined rather than on
 * the first event. Needs `SseBridgeModule` in the app.
 *
 * Typed by an app's event map (`SseEventMap`), `type` must be one of its types
 * and `data` must return that type's data: `@SseEventMapping<E, AppEvents>({ ... })`,
 * or bind it once as an `SseEventMappingDecorator<AppEvents>`.
 *
 * @publicApi
 */
export function SseEventMapping<E extends object, TEvents extends Record<string, any> = SseEventMap>(
  options: SseEventMappingOptions<E, TEvents>,
): (target: abstract new (...args: any[]) => E) => void {
  const where = '@SseEventMapping()';
  if (options === null || typeof options !== 'object') {
    throw new SseEventError(`${where} needs { type, to, data }`);
  }
  const problem = eventTypeProblem(options.type);
  if (problem) throw new SseEventError(`${where}: ${problem}`);
  if (!isMappingAudience(options.to)) {
    throw new SseEventError(
      `${where}: 'to' must be 'all', a function of the event returning user id(s), ` +
        'or { topic } with a function of the event returning topic name(s)',
    );
  }
  if (typeof options.data !== 'function') {
    throw new SseEventError(`${where}: 'data' must be a function projecting the event to what is sent`);
  }
  const { type, to, data } = options;
  return (target: abstract new (...args: any[]) => E): void => {
    // Own metadata only: a subclass may override its parent's mapping.
    if (Reflect.hasOwnMetadata(SSE_EVENT_MAPPING_METADATA, target)) {
      throw new SseEventError(`${where} is applied twice to ${className(target)}`);
    }
    const metadata: SseEventMappingMetadata = Object.freeze({
      type,
      // A frozen copy of `{ topic }`: the options object can change after decoration.
      to: (typeof to === 'object' ? Object.freeze({ topic: to.topic }) : to) as SseEventMappingMetadata['to'],
      data: data as SseEventMappingMetadata['data'],
      className: className(target),
    });
    SetMetadata(SSE_EVENT_MAPPING_METADATA, metadata)(target);
  };
}

/** `'all'`, a function, or an object with exactly one key, `topic`, a function: nothing left to guess. */
function isMappingAudience(to: unknown): boolean {
  if (to === 'all' || typeof to === 'function') return true;
  if (to === null || typeof to !== 'object') return false;
  const keys = Reflect.ownKeys(to);
  return keys.length === 1 && keys[0] === 'topic' && typeof (to as { topic: unknown }).topic === 'function';
}
