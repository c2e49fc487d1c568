import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Observable, Observer, Subscription } from 'rxjs';
import type { SseFrame } from './sse-frame.js';

/** Node's own request of either protocol, as any HTTP adapter holds it (Fastify's `request.raw`). */
export type SseRawRequest = IncomingMessage | Http2ServerRequest;
/** Node's own response of either protocol (Fastify's `reply.raw`). */
export type SseRawResponse = ServerResponse | Http2ServerResponse;

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

/** HTTP/2 forbids connection-specific headers (RFC 9113, 8.2.2): Node drops `Connection` with a warning. */
const { Connection: _connection, ...SSE_HTTP2_RESPONSE_HEADERS } = SSE_RESPONSE_HEADERS;

export interface SseSinkOptions {
  /** Bytes of unsent output past which a client that does not read is dropped. */
  maxPendingDataLength: number;
}

const logger = new Logger('SseSink');

/**
 * The last mile: writes a stream's frames as the bytes each frame encoded once,
 * with no per-event Promise, Transform stream or re-serialisation. It takes
 * Node's own request and response of either protocol (`sse-platform.adapter.ts`
 * gets them from Fastify's).
 *
 * It runs only once guards and the handler have accepted the request, so a 401
 * or 429 is still answered by Nest's exception filters before any byte is sent.
 * It subscribes itself and the route's handler returns at once, so none of
 * Nest's per-request machinery stays alive for the stream's lifetime. The stream
 * ends when the frames complete or the client leaves.
 */
export function pipeSseStream(
  frames: Observable<SseFrame>,
  request: SseRawRequest,
  response: SseRawResponse,
  { maxPendingDataLength }: SseSinkOptions,
): void {
  const sink = isHttp2(response)
    ? openHttp2(response, maxPendingDataLength)
    : openHttp1(request as IncomingMessage, response, maxPendingDataLength);
  const subscription = frames.subscribe(sink);
  if (subscription.closed) return;
  sink.subscription = subscription;
  response.on('close', sink.onClose);
  // A client that left while the guards ran has closed already: 'close' will not come again.
  if (sink.gone() || request.socket?.destroyed) subscription.unsubscribe();
}

function isHttp2(response: SseRawResponse): response is Http2ServerResponse {
  return 'stream' in response;
}

function openHttp1(request: IncomingMessage, response: ServerResponse, maxPendingDataLength: number): Http1Sink {
  const socket = request.socket;
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  socket.setTimeout(0);
  // Headers set earlier (CORS middleware, @Header(), interceptors) are kept by writeHead.
  response.writeHead(200, SSE_RESPONSE_HEADERS);
  response.flushHeaders();
  // Once the head is on the socket, the body goes straight to the socket as
  // HTTP/1.1 chunks, skipping ServerResponse's per-write work. HTTP/1.0 (no
  // chunked encoding) goes through the response.
  const direct = response.socket !== null && response.headersSent && response.chunkedEncoding === true;
  return new Http1Sink(response, maxPendingDataLength, direct ? socket : null);
}

function openHttp2(response: Http2ServerResponse, maxPendingDataLength: number): Http2Sink {
  // No socket settings: the socket is the connection's, shared by all its streams.
  // writeHead sends the HEADERS frame at once.
  response.writeHead(200, SSE_HTTP2_RESPONSE_HEADERS);
  return new Http2Sink(response, maxPendingDataLength);
}

/** One stream's writer (an object, not closures: see the README's design notes). */
abstract class ResponseSink implements Observer<SseFrame> {
  subscription?: Subscription;
  readonly onClose = (): void => this.subscription?.unsubscribe();

  constructor(
    protected readonly response: SseRawResponse,
    private readonly maxPendingDataLength: number,
  ) {}

  /** Writes the frame; false once the output buffer is full. */
  protected abstract write(frame: SseFrame): boolean;
  /** Bytes written but not yet taken by the client. */
  protected abstract pending(): number;
  /** The stream is closed. */
  abstract gone(): boolean;
  /** Ends the stream abruptly, so the client sees an error (and reconnects). */
  protected abstract drop(): void;

  next(frame: SseFrame): void {
    if (this.gone()) return;
    // The pending size is looked at only once a write reports a full buffer.
    if (!this.write(frame) && this.pending() > this.maxPendingDataLength) {
      // Rather than holding events for a client that stopped reading, drop it;
      // its EventSource reconnects and resumes from Last-Event-ID.
      logger.warn(`dropping a client that is not reading: ${this.pending()} bytes pending`);
      this.drop();
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

  private end(): void {
    this.response.off('close', this.onClose);
    if (!this.response.writableEnded) this.response.end();
  }
}

class Http1Sink extends ResponseSink {
  declare protected readonly response: ServerResponse;
  /** Writes of one tick (a burst of events) leave in one syscall, as node:http does for its own writes. */
  corked = false;

  constructor(
    response: ServerResponse,
    maxPendingDataLength: number,
    /** Set for the direct path: pre-encoded HTTP/1.1 chunks go to it. Otherwise frames go through the response. */
    readonly socket: Socket | null,
  ) {
    super(response, maxPendingDataLength);
  }

  protected write(frame: SseFrame): boolean {
    const socket = this.socket;
    if (socket === null) return this.response.write(frame.bytes);
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    return socket.write(frame.chunk);
  }

  /** The response's own buffer plus its socket's. */
  protected pending(): number {
    return this.response.writableLength;
  }

  gone(): boolean {
    return this.response.destroyed;
  }

  protected drop(): void {
    this.response.destroy();
  }
}

function uncork(sink: Http1Sink): void {
  sink.corked = false;
  sink.socket!.uncork();
}

/**
 * HTTP/2 has no chunked encoding (DATA frames carry the body), so frames go
 * through the response. What waits for a client that does not read is in its
 * stream (its flow-control window closed), not in the connection's socket.
 */
class Http2Sink extends ResponseSink {
  declare protected readonly response: Http2ServerResponse;

  protected write(frame: SseFrame): boolean {
    return this.response.write(frame.bytes);
  }

  protected pending(): number {
    return this.response.stream.writableLength;
  }

  gone(): boolean {
    return this.response.stream.destroyed;
  }

  /** RST_STREAM(CANCEL) for this stream alone; the connection and its other streams go on. */
  protected drop(): void {
    this.response.stream.close(constants.NGHTTP2_CANCEL);
  }
}
