/**
 * Server-assigned event ids, `<ms>-<seq>` like Redis stream ids: they order
 * every event this process publishes, so "everything after id X" is well defined
 * for replay. Domain ids (an order id) belong in the data, not here.
 *
 * @publicApi
 */
export interface SseEventId {
  readonly ms: number;
  readonly seq: number;
}

const EVENT_ID_FORMAT = /^(\d{1,15})-(\d{1,9})$/;

/**
 * The wire form of an event id.
 *
 * @publicApi
 */
export function formatEventId(id: SseEventId): string {
  return `${id.ms}-${id.seq}`;
}

/**
 * Returns undefined for anything that is not a well-formed id.
 *
 * @publicApi
 */
export function parseEventId(raw: string): SseEventId | undefined {
  const match = EVENT_ID_FORMAT.exec(raw);
  if (!match) return undefined;
  const ms = Number(match[1]);
  const seq = Number(match[2]);
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? { ms, seq } : undefined;
}

/**
 * Orders two event ids (negative, zero, positive).
 *
 * @publicApi
 */
export function compareEventIds(a: SseEventId, b: SseEventId): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.seq - b.seq;
}
