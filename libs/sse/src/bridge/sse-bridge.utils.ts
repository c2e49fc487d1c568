import { EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../sse.constants.js';
import { SseEventError } from '../sse-event.js';

/**
 * Checks an SSE event type when the decorator is applied, so a bad mapping fails
 * when its class is defined rather than on the first event. Same rules as `SseService`.
 */
export function checkedEventType(type: unknown, where: string): string {
  if (typeof type !== 'string' || type.length === 0) {
    throw new SseEventError(`${where}: the SSE event type must be a non-empty string`);
  }
  if (type.length > MAX_EVENT_TYPE_LENGTH || !EVENT_TYPE_PATTERN.test(type)) {
    throw new SseEventError(
      `${where}: SSE event type ${JSON.stringify(type)} is not allowed: use a letter followed by letters, digits or ._:- (at most ${MAX_EVENT_TYPE_LENGTH})`,
    );
  }
  return type;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** An emitted event's name as a log-safe string (EventEmitter2 allows symbols and namespace arrays). */
export function formatEventName(event: unknown): string {
  if (typeof event === 'string') return event;
  if (typeof event === 'symbol') return event.toString();
  if (Array.isArray(event)) return event.map((part) => formatEventName(part)).join('.');
  return '(unknown event)';
}

export function className(target: object): string {
  const ctor = typeof target === 'function' ? target : (target as { constructor?: { name?: string } }).constructor;
  return (ctor as { name?: string } | undefined)?.name || '(anonymous class)';
}
