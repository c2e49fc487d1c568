import {
  eventIdProblem,
  eventTypeProblem,
  SSE_EVENT_TYPES,
  SSE_LIMITS,
  SSE_RESET_REASONS,
  type SseResetReason,
  tagTopicData,
} from '@nest-sse/protocol';
import type { MessageEvent } from '@nestjs/common';

import { SseEventError } from '../sse.exceptions.js';
import type { SseEvent } from './sse-event.interface.js';

/**
 * The fields of a frame; `data` is already text (JSON for published events).
 *
 * @publicApi
 */
export interface SseFrameFields {
  readonly type?: string;
  readonly id?: string;
  readonly data?: string;
  readonly retry?: number;
  readonly comment?: string;
  /** When the event was published (ms since the epoch), set by the transport: where publish-to-write time starts. */
  readonly publishedAt?: number;
  /** The topic it was published to (`SseService.publish`), set by the transport: what a shared stream writes in front of its data. */
  readonly topic?: string;
}

/**
 * One message of an event stream, checked and never changed once made, that owns its encoded
 * form: the first stream that writes it encodes it once, as an HTTP/1.1 chunk
 * (`size CRLF text CRLF`), and every other stream, and history's replays, write
 * the same bytes. It is also a Nest `MessageEvent`, for users' own `@Sse()` routes.
 *
 * @publicApi
 */
export class SseFrame implements MessageEvent, SseFrameFields {
  readonly type?: string;
  readonly id?: string;
  readonly data?: string;
  readonly retry?: number;
  readonly comment?: string;
  #publishedAt: number;
  #topic?: string;
  /** The variant shared streams write, made by the first of them. */
  #tagged?: SseFrame;
  #chunk?: Buffer;
  /** Length of the chunk's size line (`size CRLF`), known once it is encoded. */
  #headLength = 0;

  /**
   * From fields already checked: a published event's, once `checkEvent` checked it and a transport gave
   * it its id, or a frame the server composes itself (heartbeats, hints, resets).
   */
  constructor({ type, id, data, retry, comment, publishedAt = 0, topic }: SseFrameFields) {
    this.type = type;
    this.id = id;
    this.data = data;
    this.retry = retry;
    this.comment = comment;
    this.#publishedAt = publishedAt;
    this.#topic = topic;
  }

  /** When the event was published (ms since the epoch); 0 for frames the server composes, which are not timed. Not a message field. */
  get publishedAt(): number {
    return this.#publishedAt;
  }

  /** The topic the event was published to; `undefined` for any other frame. Not a message field: see `tagged`. */
  get topic(): string | undefined {
    return this.#topic;
  }

  /**
   * What a stream opened with `shared` writes: for a topic's event, the same
   * event with the topic as the first line of its data (`tagTopicData`), made
   * once and used by every shared stream (and their replays); any other frame itself.
   */
  get tagged(): SseFrame {
    if (this.#tagged !== undefined) return this.#tagged;
    const topic = this.#topic;
    if (topic === undefined) return this;
    const tagged = new SseFrame({
      type: this.type,
      id: this.id,
      data: tagTopicData(topic, this.data ?? ''),
      retry: this.retry,
      comment: this.comment,
      publishedAt: this.#publishedAt,
      topic,
    });
    // Tagged once: the variant is its own.
    tagged.#tagged = tagged;
    return (this.#tagged = tagged);
  }

  /**
   * A published event as a frame, with `id` unless the event brings its own:
   * the type and id are checked against the wire rules and `data` is JSON-encoded
   * once, so a bad event throws `SseEventError` at the call site and reaches no one.
   */
  static fromEvent(event: SseEvent, id: string): SseFrame {
    const checked = SseFrame.checkEvent(event);
    return new SseFrame({ type: checked.type, id: checked.id ?? id, data: checked.data });
  }

  /** A published event's fields, checked against the wire rules, with its data as JSON text; throws `SseEventError`. */
  static checkEvent(event: SseEvent): { type: string; id?: string; data: string } {
    if (event === null || typeof event !== 'object') {
      throw new SseEventError('SSE event must be an object { type, data, id? }');
    }
    const problem = eventTypeProblem(event.type) ?? (event.id === undefined ? undefined : eventIdProblem(event.id));
    if (problem) throw new SseEventError(problem);
    return { type: event.type, id: event.id, data: encodeData(event.data) };
  }

  /**
   * The most bytes a published event's text can take, with the longest id any
   * transport gives (`SSE_LIMITS.lastEventIdLength`): its size is checked
   * before it has its id.
   */
  static maxEncodedLength(type: string, data: string): number {
    // event: <type>\nid: <id>\ndata: <data>\n\n; type and id are ASCII by the wire rules.
    return 7 + type.length + 1 + 4 + SSE_LIMITS.lastEventIdLength + 1 + 6 + Buffer.byteLength(data, 'utf8') + 1 + 1;
  }

  /**
   * A message from an app's own Observable (a Nest `MessageEvent`), checked
   * against the same wire rules; string data is sent as it is (one `data:` line
   * per line, as Nest's `@Sse()` does), any other data as JSON.
   */
  static fromMessage(message: MessageEvent): SseFrame {
    if (message === null || message === undefined) throw new SseEventError('an SSE message must not be null');
    // Like Nest's @Sse(): anything that is not an object is the data of a message.
    const { type, id, data, retry, comment } =
      typeof message === 'object' ? message : ({ data: message } as unknown as MessageEvent);
    const problem =
      (type === undefined ? undefined : eventTypeProblem(type)) ?? (id === undefined ? undefined : eventIdProblem(id));
    if (problem) throw new SseEventError(problem);
    if (retry !== undefined && !(Number.isInteger(retry) && retry >= 0)) {
      throw new SseEventError('SSE retry must be a non-negative integer of milliseconds');
    }
    const text = data === undefined || typeof data === 'string' ? data : encodeData(data);
    return new SseFrame({ type, id, data: text, retry, comment: comment === undefined ? undefined : String(comment) });
  }

  /** The text/event-stream form. */
  get text(): string {
    let out = '';
    if (this.type !== undefined) out += `event: ${this.type}\n`;
    if (this.id !== undefined) out += `id: ${this.id}\n`;
    if (this.retry !== undefined) out += `retry: ${this.retry}\n`;
    if (this.comment !== undefined) out += lines(this.comment, ': ');
    if (this.data !== undefined) out += lines(this.data, 'data: ');
    return `${out}\n`;
  }

  /** The frame as one HTTP/1.1 chunk, encoded on first use and kept: a broadcast encodes once. */
  get chunk(): Buffer {
    if (this.#chunk === undefined) {
      // One allocation and no intermediate copy of the text.
      const text = this.text;
      const size = Buffer.byteLength(text, 'utf8');
      const head = `${size.toString(16)}\r\n`;
      const chunk = Buffer.allocUnsafe(head.length + size + 2);
      let at = chunk.write(head, 0, 'latin1');
      at += chunk.write(text, at, 'utf8');
      chunk.write('\r\n', at, 'latin1');
      this.#chunk = chunk;
      this.#headLength = head.length;
    }
    return this.#chunk;
  }

  /** The encoded text without the chunk framing (a view of `chunk`, not a copy), for HTTP/1.0 clients. */
  get bytes(): Buffer {
    const chunk = this.chunk;
    return chunk.subarray(this.#headLength, chunk.length - 2);
  }

  /** Size of the encoded text in bytes (what `bytes` holds), without making a view. */
  get byteLength(): number {
    return this.chunk.length - this.#headLength - 2;
  }
}

/** A `reset` with its reason: data `{ reason, message }`, and the id where the stream goes on from. */
export function resetFrame(reason: SseResetReason, id: string): SseFrame {
  return new SseFrame({
    type: SSE_EVENT_TYPES.reset,
    data: JSON.stringify({ reason, message: SSE_RESET_REASONS[reason] }),
    id,
  });
}

/** Splits like the spec's parser (CRLF, CR or LF each end a line), one field per line. */
function lines(value: string, prefix: string): string {
  // Published data is JSON, which never holds a raw line break: one line, no split.
  if (value.indexOf('\n') === -1 && value.indexOf('\r') === -1) return `${prefix}${value}\n`;
  return value
    .split(/\r\n|\r|\n/)
    .map((line) => `${prefix}${line}\n`)
    .join('');
}

function encodeData(data: unknown): string {
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
