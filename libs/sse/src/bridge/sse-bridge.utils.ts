import type { SsePushEvent } from './sse-push.decorator.js';

export function isPushEvent(event: unknown): event is SsePushEvent {
  const isPart = (part: unknown) => (typeof part === 'string' && part.length > 0) || typeof part === 'symbol';
  return isPart(event) || (Array.isArray(event) && event.length > 0 && event.every(isPart));
}

/** The same subscription for EventEmitter2: the same name or symbol, or the same namespace parts. */
export function isSameEvent(a: SsePushEvent, b: SsePushEvent): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((part, i) => part === b[i]);
  return a === b;
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
  return ctor?.name || '(anonymous class)';
}
