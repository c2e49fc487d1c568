import 'reflect-metadata';
import { SetMetadata } from '@nestjs/common';
import { SseEventError } from '../sse.exceptions.js';
import { eventTypeProblem } from '../sse-wire.rules.js';
import { SSE_EVENT_MAPPING_METADATA } from './sse-bridge.constants.js';
import { className } from './sse-bridge.utils.js';
import type { SseUserId } from './sse-push-target.interface.js';

/**
 * Who receives a mapped event: one user id, several (an empty list pushes nothing),
 * or `null` / `undefined`, which is a failed mapping (logged, nothing pushed).
 */
export type SseAudience = SseUserId | Iterable<SseUserId> | null | undefined;

export interface SseEventMappingOptions<E extends object> {
  /** The SSE event type (the `event:` field). */
  type: string;
  /** `'all'` for every open stream, or a function of the event returning the user id(s). */
  to: 'all' | ((event: E) => SseAudience);
  /**
   * The projection sent as JSON. Required: the event object itself is never sent
   * unless this function returns it.
   */
  data: (event: E) => unknown;
}

export interface SseEventMappingMetadata {
  readonly type: string;
  readonly to: 'all' | ((event: object) => SseAudience);
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
 */
export function SseEventMapping<E extends object>(options: SseEventMappingOptions<E>) {
  const where = '@SseEventMapping()';
  if (options === null || typeof options !== 'object') {
    throw new SseEventError(`${where} needs { type, to, data }`);
  }
  const problem = eventTypeProblem(options.type);
  if (problem) throw new SseEventError(`${where}: ${problem}`);
  if (options.to !== 'all' && typeof options.to !== 'function') {
    throw new SseEventError(`${where}: 'to' must be 'all' or a function of the event returning user id(s)`);
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
      to: to as SseEventMappingMetadata['to'],
      data: data as SseEventMappingMetadata['data'],
      className: className(target),
    });
    SetMetadata(SSE_EVENT_MAPPING_METADATA, metadata)(target);
  };
}
