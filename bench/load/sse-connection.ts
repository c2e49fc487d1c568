import { connect, type Socket } from 'node:net';

export interface SseConnectionEvents {
  /** The response head arrived with status 200: the stream is open. */
  onOpen(): void;
  /** The `data:` of one event (comments and data-less frames are skipped). */
  onData(data: string): void;
  /** The stream could not open, or ended; `reason` is set for anything but a clean end. */
  onClose(reason: string | undefined): void;
}

/**
 * One SSE stream over a raw socket: a handwritten HTTP/1.1 GET, then the response
 * parsed as it arrives (head, chunked body, frames split on the blank line).
 * Kept lean on purpose: ten thousand of these share one process with the timing.
 * Read as latin1 so that a chunk's byte count equals its string length.
 */
export class SseConnection {
  private readonly socket: Socket;
  private head = '';
  private open = false;
  /** Undecoded body bytes. */
  private raw = '';
  /** Bytes left in the current chunk; -1 while reading a chunk-size line. */
  private chunkLeft = -1;
  /** CRLF still to skip after a chunk's data. */
  private skipCrlf = false;
  /** Decoded text not yet ending in a blank line. */
  private text = '';
  private closed = false;

  constructor(
    port: number,
    path: string,
    private readonly events: SseConnectionEvents,
  ) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.setEncoding('latin1');
    this.socket.on('connect', () =>
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`),
    );
    this.socket.on('data', (chunk: string) => this.receive(chunk));
    this.socket.on('error', (err) => this.finish(err.message));
    this.socket.on('close', () => this.finish(this.open ? undefined : 'closed before the response head'));
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private finish(reason: string | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.events.onClose(reason);
  }

  private receive(chunk: string): void {
    if (!this.open) {
      this.head += chunk;
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const statusLine = this.head.slice(0, this.head.indexOf('\r\n'));
      if (!/^HTTP\/1\.1 200 /.test(statusLine)) return this.finish(statusLine);
      if (!/\r\ntransfer-encoding: *chunked/i.test(this.head.slice(0, end))) {
        return this.finish('expected a chunked response');
      }
      chunk = this.head.slice(end + 4);
      this.head = '';
      this.open = true;
      this.events.onOpen();
    }
    this.raw += chunk;
    this.dechunk();
    this.splitFrames();
  }

  private dechunk(): void {
    while (this.raw.length > 0) {
      if (this.skipCrlf) {
        if (this.raw.length < 2) return;
        this.raw = this.raw.slice(2);
        this.skipCrlf = false;
      } else if (this.chunkLeft < 0) {
        const eol = this.raw.indexOf('\r\n');
        if (eol < 0) return;
        this.chunkLeft = parseInt(this.raw.slice(0, eol), 16);
        this.raw = this.raw.slice(eol + 2);
        if (this.chunkLeft === 0) return this.finish(undefined);
      } else {
        const take = Math.min(this.chunkLeft, this.raw.length);
        this.text += this.raw.slice(0, take);
        this.raw = this.raw.slice(take);
        this.chunkLeft -= take;
        if (this.chunkLeft === 0) {
          this.chunkLeft = -1;
          this.skipCrlf = true;
        }
      }
    }
  }

  /** Every server here ends lines with LF alone, so a frame ends at the first `\n\n`. */
  private splitFrames(): void {
    let start = 0;
    for (let end = this.text.indexOf('\n\n'); end >= 0; end = this.text.indexOf('\n\n', start)) {
      const data = dataOf(this.text.slice(start, end));
      start = end + 2;
      if (data !== undefined) this.events.onData(data);
    }
    if (start > 0) this.text = this.text.slice(start);
  }
}

/** The frame's `data:` lines joined, or undefined for a comment or a frame without data. */
function dataOf(frame: string): string | undefined {
  let data: string | undefined;
  for (const line of frame.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}
