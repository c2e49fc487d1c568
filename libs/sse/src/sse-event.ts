import type { MessageEvent } from '@nestjs/common';
import {
  EVENT_ID_PATTERN,
  EVENT_TYPE_PATTERN,
  MAX_EVENT_ID_LENGTH,
  MAX_EVENT_TYPE_LENGTH,
  MAX_USER_ID_LENGTH,
} from './sse.constants.js';

/** What callers publish. `data` is any JSON-serialisable value; it is sent as JSON. */
export interface SseEvent<T = unknown> {
  /** The SSE event name: `notification`, `update`, `heartbeat`, or any safe token. */
  type: string;
  data: T;
  /**
   * Only with `history: false`: a wire-safe id of your own. With history on
   * (the default) the server assigns ordered ids and refuses this field:
   * domain ids (an order id) belong in `data`.
   */
  id?: string;
}

/** A publish call was given something that must not reach the wire. */
export class SseEventError extends Error {
  override readonly name = 'SseEventError';
}

/** An event checked and serialised once, ready to be written to any number of streams. */
export type SseFrame = MessageEvent & { data?: string };

export function assertEventType(type: unknown): asserts type is string {
  if (typeof type !== 'string' || type.length === 0) {
    throw new SseEventError('SSE event type must be a non-empty string');
  }
  if (type.length > MAX_EVENT_TYPE_LENGTH) {
    throw new SseEventError(`SSE event type is longer than ${MAX_EVENT_TYPE_LENGTH} characters`);
  }
  // Checked here rather than stripped later: Nest removes CR/LF from `event:`,
  // which would silently merge what the caller meant as separate fields.
  if (!EVENT_TYPE_PATTERN.test(type)) {
    throw new SseEventError(
      `SSE event type ${JSON.stringify(type)} is not allowed: use a letter followed by letters, digits or ._:-`,
    );
  }
}

export function assertEventId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new SseEventError('SSE event id must be a non-empty string');
  }
  if (id.length > MAX_EVENT_ID_LENGTH) {
    throw new SseEventError(`SSE event id is longer than ${MAX_EVENT_ID_LENGTH} characters`);
  }
  if (!EVENT_ID_PATTERN.test(id)) {
    throw new SseEventError(
      `SSE event id ${JSON.stringify(id)} is not allowed: use printable ASCII without spaces, CR, LF or NUL`,
    );
  }
}

export function assertUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    throw new SseEventError(`user id must be a non-empty string of at most ${MAX_USER_ID_LENGTH} characters`);
  }
}

/** JSON-encodes `data` once, so a broadcast costs one serialisation however many streams it reaches. */
export function serialiseData(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data === undefined ? null : data);
  } catch (err) {
    throw new SseEventError(`SSE event data is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (json === undefined) {
    throw new SseEventError('SSE event data is not JSON-serialisable (a function or symbol)');
  }
  return json;
}

/**
 * Validates an event at the call site and turns it into a frame with the given
 * wire id (used when the event brings none). Throws `SseEventError`.
 */
export function toFrame(event: SseEvent, id: string): SseFrame & { id: string } {
  if (event === null || typeof event !== 'object') {
    throw new SseEventError('SSE event must be an object { type, data, id? }');
  }
  assertEventType(event.type);
  if (event.id !== undefined) assertEventId(event.id);
  return { type: event.type, data: serialiseData(event.data), id: event.id ?? id };
}
