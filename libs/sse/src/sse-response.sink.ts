import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Observable, Observer, Subscription } from 'rxjs';
import type { SseFrame } from './sse-frame.js';

/** Nest's own `@Sse()` headers, so the route behaves the same to clients and proxies. */
export const SSE_RESPONSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
  Connection: 'keep-alive',
  Pragma: 'no-cache',
  Expires: '0',
  // nginx would otherwise buffer the stream.
  'X-Accel-Buffering': 'no',
} as const;

export interface SseSinkOptions {
  /** Bytes of unsent output past which a client that does not read is dropped. */
  maxPendingDataLength: number;
}

const logger = new Logger('SseSink');

/**
 * The last mile: writes a stream's frames to the socket as the bytes each frame
 * encoded once, with no per-event Promise, Transform stream or re-serialisation.
 *
 * It runs only once guards and the handler have accepted the request, so a 401
 * or 429 is still answered by Nest's exception filters before any byte is sent.
 * It subscribes itself and the route's handler returns at once, so none of
 * Nest's per-request machinery stays alive for the stream's lifetime. The stream
 * ends when the frames complete or the client leaves.
 */
export function pipeSseStream(
  frames: Observable<SseFrame>,
  request: IncomingMessage,
  response: ServerResponse,
  { maxPendingDataLength }: SseSinkOptions,
): void {
  const socket = request.socket;
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  socket.setTimeout(0);
  // Headers set earlier (CORS middleware, @Header(), interceptors) are kept by writeHead.
  response.writeHead(200, SSE_RESPONSE_HEADERS);
  response.flushHeaders();

  const sink = new ResponseSink(socket, response, maxPendingDataLength);
  const subscription = frames.subscribe(sink);
  if (subscription.closed) return;
  sink.subscription = subscription;
  response.on('close', sink.onClose);
  // A client that left while the guards ran has closed already: 'close' will not come again.
  if (response.destroyed || socket.destroyed) subscription.unsubscribe();
}

/** One stream's writer (an object, not closures: see the README's design notes). */
class ResponseSink implements Observer<SseFrame> {
  subscription?: Subscription;
  /** Writes of one tick (a burst of events) leave in one syscall, as node:http does for its own writes. */
  corked = false;
  /**
   * Once the head is on the socket, the body goes straight to the socket as
   * HTTP/1.1 chunks, skipping ServerResponse's per-write work. Otherwise
   * (HTTP/1.0, no chunked encoding), through the response.
   */
  private readonly direct: boolean;
  readonly onClose = (): void => this.subscription?.unsubscribe();

  constructor(
    readonly socket: Socket,
    private readonly response: ServerResponse,
    private readonly maxPendingDataLength: number,
  ) {
    this.direct = response.socket !== null && response.headersSent && response.chunkedEncoding === true;
  }

  next(frame: SseFrame): void {
    if (this.response.destroyed) return;
    // The pending size is looked at only once a write reports a full buffer.
    if (!this.write(frame) && this.response.writableLength > this.maxPendingDataLength) {
      // Rather than holding events for a client that stopped reading, drop it;
      // its EventSource reconnects and resumes from Last-Event-ID.
      logger.warn(`dropping a client that is not reading: ${this.response.writableLength} bytes pending`);
      this.response.destroy();
    }
  }

  error(err: unknown): void {
    // The headers are out: no status can be sent any more, so the stream just ends.
    logger.error(`stream failed: ${(err as Error)?.message ?? err}`);
    this.end();
  }

  complete(): void {
    this.end();
  }

  private write(frame: SseFrame): boolean {
    if (!this.direct) return this.response.write(frame.bytes);
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    return this.socket.write(frame.chunk);
  }

  private end(): void {
    this.response.off('close', this.onClose);
    if (!this.response.writableEnded) this.response.end();
  }
}

function uncork(sink: ResponseSink): void {
  sink.corked = false;
  sink.socket.uncork();
}
