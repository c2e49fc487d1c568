import type { SseFrame } from './sse-event.js';

const WIRE = Symbol('sse.wire');
const CHUNK = Symbol('sse.chunk');
type CachedFrame = SseFrame & { [WIRE]?: string; [CHUNK]?: Buffer };

function lines(value: string, prefix: string): string {
  // Same splitting as the spec's parser: CRLF, CR or LF each end a line.
  return value
    .split(/\r\n|\r|\n/)
    .map((line) => `${prefix}${line}\n`)
    .join('');
}

/** The text/event-stream form of a frame. Types and ids were checked when the frame was made. */
export function serialiseFrame(frame: SseFrame): string {
  let out = '';
  if (frame.type !== undefined) out += `event: ${frame.type}\n`;
  if (frame.id !== undefined) out += `id: ${frame.id}\n`;
  if (frame.retry !== undefined) out += `retry: ${frame.retry}\n`;
  if (frame.comment !== undefined) out += lines(frame.comment, ': ');
  if (frame.data !== undefined) {
    const data = frame.data as unknown;
    out += lines(typeof data === 'string' ? data : JSON.stringify(data), 'data: ');
  }
  return `${out}\n`;
}

/**
 * Serialises a frame once, however many streams it is written to: the text is
 * kept on the frame itself (a broadcast to 10,000 streams builds one string).
 */
export function wireOf(frame: SseFrame): string {
  return cached(frame, WIRE, () => serialiseFrame(frame));
}

/**
 * The frame as one HTTP/1.1 chunk (`size CRLF text CRLF`), encoded once per
 * frame: every stream is then handed the same bytes, with no per-write string
 * encoding (which was most of a broadcast's cost when each write took a string).
 */
export function chunkOf(frame: SseFrame): Buffer {
  return cached(frame, CHUNK, () => {
    const body = Buffer.from(wireOf(frame), 'utf8');
    return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, CRLF]);
  });
}

const CRLF = Buffer.from('\r\n', 'latin1');

function cached<K extends typeof WIRE | typeof CHUNK>(
  frame: SseFrame,
  key: K,
  build: () => NonNullable<CachedFrame[K]>,
): NonNullable<CachedFrame[K]> {
  const hit = (frame as CachedFrame)[key];
  if (hit !== undefined) return hit as NonNullable<CachedFrame[K]>;
  const value = build();
  if (Object.isExtensible(frame)) Object.defineProperty(frame, key, { value, enumerable: false });
  return value;
}
