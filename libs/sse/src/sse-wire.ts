import type { SseFrame } from './sse-event.js';

const WIRE = Symbol('sse.wire');
type CachedFrame = SseFrame & { [WIRE]?: string };

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
  const cached = (frame as CachedFrame)[WIRE];
  if (cached !== undefined) return cached;
  const wire = serialiseFrame(frame);
  if (Object.isExtensible(frame)) {
    Object.defineProperty(frame, WIRE, { value: wire, enumerable: false });
  }
  return wire;
}
