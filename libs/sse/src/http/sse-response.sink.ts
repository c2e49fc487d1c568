import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';

import { Logger, type MessageEvent } from '@nestjs/common';
import type { Observable, Observer, Subscription } from 'rxjs';

import { subscribeAsHead } from '../streams/sse-stream.lease.js';
import { subscribeForRequest } from '../streams/sse-subscription.context.js';
import { SseFrame } from '../wire/sse-frame.js';
import { rawRequestAndResponse, takeOverResponse } from './sse-platform.adapter.js';

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

/** An HTTP/1.0 body without chunked encoding ends only when the connection closes. */
const SSE_HTTP10_RESPONSE_HEADERS = { ...SSE_RESPONSE_HEADERS, Connection: 'close' } as const;

/** HTTP/2 forbids connection-specific headers (RFC 9113, 8.2.2): Node drops `Connection` with a warning. */
const { Connection: _connection, ...SSE_HTTP2_RESPONSE_HEADERS } = SSE_RESPONSE_HEADERS;

export interface SseSinkOptions {
  /** Bytes a client may owe; one that owes more and does not catch up within a check interval is dropped. */
  maxPendingDataLength: number;
  /**
   * When the route's handler started (`tick()`): the module's streams it made without
   * `request` resume from this request (see `subscribeForRequest`), and no other stream does.
   */
  handlerStartedAt: number;
}

/**
 * How often a client that owes more than `maxPendingDataLength` is looked at.
 * The first look after it went over asks whether it took anything since: what
 * it was sent meanwhile (the rest of the burst or replay that put it over,
 * however long its client takes to read it) is not held against it. Each later
 * look asks whether it owes less than at the previous one, so a client that
 * reads slower than it is sent is dropped, the look after next at the latest.
 * One that does not read is dropped at the first look.
 */
export const SLOW_CLIENT_CHECK_MS = 1_000;

const logger = new Logger('SseSink');

/** Requests whose stream the sink dropped for not reading: the stream's teardown asks, to say why it ended. */
const droppedSlowClients = new WeakSet<object>();

/** Whether the stream of this request (Node's own) was dropped because its client stopped reading. */
export function wasDroppedAsSlowClient(request: object): boolean {
  return droppedSlowClients.has(request);
}

/**
 * The last mile: writes a stream's messages as the bytes each frame encoded once,
 * with no per-event Promise, Transform stream or re-serialisation. It takes a
 * route's `@Req()` and `@Res()` on Express or Fastify, over HTTP/1 or HTTP/2.
 *
 * It subscribes before anything is written: a stream that fails as it is
 * subscribed (`SseService.stream()` over the per-user limit) throws from here,
 * so Nest's exception filters still answer (429) before any byte; what the
 * stream emits meanwhile (its opening and replay) waits in a list. Only then is
 * the response taken over from the platform and its head written. Nothing of
 * Nest's per-request machinery stays alive for the stream's lifetime. The
 * stream ends when the messages complete or the client leaves. A HEAD is
 * subscribed the same way (as a HEAD's: see `subscribeAsHead`) and let go at
 * once, so it gets the status its GET would get, then the head alone.
 */
export function pipeSseStream(
  messages: Observable<MessageEvent>,
  request: object,
  response: object,
  { maxPendingDataLength, handlerStartedAt }: SseSinkOptions,
): void {
  const raw = rawRequestAndResponse(request, response);
  const sink = isHttp2(raw.response)
    ? new Http2Sink(raw.response, maxPendingDataLength)
    : new Http1Sink(raw.request as IncomingMessage, raw.response, maxPendingDataLength);
  // A HEAD request gets the status its GET would get, with the head alone and no stream:
  // its Observable is subscribed as a HEAD's (the module's streams in it open nothing and
  // give back a slot taken for them, however the handler wrapped them), and let go at once.
  if (raw.request.method === 'HEAD') {
    subscribeAsHead(messages, sink);
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- failure is the unknown value the stream errored with; rethrown as it came
    if (sink.failure !== undefined) throw sink.failure;
    takeOverResponse(response);
    sink.headOnly();
    return;
  }
  // For its request: the module's streams its handler made resume from the request even when it did not pass it.
  const subscription = subscribeForRequest(request, handlerStartedAt, messages, sink);
  if (sink.failure !== undefined) {
    subscription.unsubscribe();
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- failure is the unknown value the stream errored with; rethrown as it came
    throw sink.failure;
  }
  try {
    takeOverResponse(response);
    sink.open();
  } catch (err) {
    // A header Node refuses, or a head already sent: the slot is freed, the response ended.
    subscription.unsubscribe();
    sink.abandon();
    throw err;
  }
  if (subscription.closed) return;
  sink.subscription = subscription;
  raw.response.on('close', sink.onClose);
  // A client that left while the guards ran has closed already: 'close' will not come again.
  if (sink.gone() || raw.request.socket?.destroyed) subscription.unsubscribe();
}

function isHttp2(response: SseRawResponse): response is Http2ServerResponse {
  return 'stream' in response;
}

/** One stream's writer (an object, not closures: see docs/design.md). */
abstract class ResponseSink implements Observer<MessageEvent> {
  subscription?: Subscription;
  /** What the stream failed with before it was opened: thrown to the route, for the exception filters. */
  failure?: unknown;
  /** Messages emitted while the stream was being subscribed, before its head was written; null once open. */
  private early: SseFrame[] | null = [];
  private completed = false;
  /** Back-pressure state, made the first time the transport is full: a stream that never fills pays one field. */
  private flow: SinkFlow | null = null;
  readonly onClose = (): void => {
    this.release();
    this.subscription?.unsubscribe();
  };

  constructor(
    protected readonly response: SseRawResponse,
    private readonly maxPendingDataLength: number,
  ) {}

  /** Writes the head of the response. */
  protected abstract head(): void;
  /** Writes the frame; false once the output buffer is full. */
  protected abstract write(frame: SseFrame): boolean;
  /** Bytes written but not yet taken by the client. */
  protected abstract pending(): number;
  /** The stream is closed. */
  abstract gone(): boolean;
  /** Ends the stream abruptly, so the client sees an error (and reconnects). */
  protected abstract drop(): void;
  /** Node's request of the stream. */
  protected abstract incomingRequest(): object;
  /** Where 'drain' is emitted once what `write` refused has gone out. */
  protected abstract drainEmitter(): NodeJS.EventEmitter;

  /** Answers a HEAD request: the head alone. */
  headOnly(): void {
    this.early = null;
    this.head();
    this.end();
  }

  /** The stream could not be opened: nothing more is buffered, and a response already taken over is ended. */
  abandon(): void {
    this.early = null;
    if (this.response.headersSent) this.response.destroy();
  }

  /** Writes the head, then what the stream emitted while it was subscribed. */
  open(): void {
    this.head();
    const early = this.early!;
    this.early = null;
    for (const frame of early) this.next(frame);
    if (this.completed) this.end();
  }

  next(message: MessageEvent): void {
    // The module's streams emit frames; a user's own Observable may emit plain messages.
    let frame: SseFrame;
    try {
      frame = message instanceof SseFrame ? message : SseFrame.fromMessage(message);
    } catch (err) {
      // Never written: the stream ends (before its head, the exception filters answer).
      this.subscription?.unsubscribe();
      this.error(err);
      return;
    }
    if (this.early) {
      this.early.push(frame);
      return;
    }
    if (this.gone()) return;
    const flow = this.flow;
    if (flow !== null && flow.queue !== null) {
      flow.queue.push(frame);
      flow.queuedBytes += frame.chunk.length;
      this.watchIfOwing(flow, frame.chunk.length);
    } else if (!this.write(frame)) {
      // The transport holds a batch: what follows waits here, in order, for its 'drain'.
      const started = flow ?? (this.flow = new SinkFlow(() => this.flush()));
      started.queue = [];
      this.awaitDrain(started);
      this.watchIfOwing(started, frame.chunk.length);
    }
  }

  /** Writes queued frames until the transport is full again, or ends the response if it was asked to. */
  private flush(): void {
    const flow = this.flow!;
    const queue = flow.queue;
    if (queue === null || this.gone()) return;
    while (flow.queueHead < queue.length) {
      const frame = queue[flow.queueHead]!;
      queue[flow.queueHead++] = undefined;
      flow.queuedBytes -= frame.chunk.length;
      if (!this.write(frame)) {
        // Written frames are let go of at once, not when the whole queue is out.
        if (flow.queueHead > 1024 && flow.queueHead * 2 > queue.length) {
          queue.splice(0, flow.queueHead);
          flow.queueHead = 0;
        }
        this.awaitDrain(flow);
        return;
      }
    }
    flow.queue = null;
    flow.queueHead = 0;
    if (flow.endWhenFlushed) this.end();
  }

  private awaitDrain(flow: SinkFlow): void {
    this.drainEmitter().once('drain', flow.onDrain);
  }

  /** Bytes the client owes: what the transport holds and what waits here. */
  private owed(): number {
    return this.pending() + (this.flow?.queuedBytes ?? 0);
  }

  /** After `sent` more bytes were handed over while the transport was full: arms the check once the client owes too much. */
  private watchIfOwing(flow: SinkFlow, sent: number): void {
    if (flow.watch !== undefined) {
      // Before the first look, what it is sent is not held against it (see SLOW_CLIENT_CHECK_MS).
      if (flow.firstLook) flow.owedAtWatch += sent;
      return;
    }
    const owed = this.owed();
    if (owed <= this.maxPendingDataLength) return;
    this.watchFrom(flow, owed, true);
  }

  private watchFrom(flow: SinkFlow, owed: number, firstLook: boolean): void {
    flow.owedAtWatch = owed;
    flow.firstLook = firstLook;
    flow.watch = setTimeout(checkSlowClient, SLOW_CLIENT_CHECK_MS, this);
    flow.watch.unref();
  }

  /** Runs a check interval after the client went over the limit. */
  checkSlowClient(): void {
    const flow = this.flow!;
    flow.watch = undefined;
    if (this.gone()) return;
    const owed = this.owed();
    // Back under the limit: the next write past it arms the check again.
    if (owed <= this.maxPendingDataLength) return;
    if (owed < flow.owedAtWatch) {
      // Over, but it took something since it went over, or, later, more than it was sent: reading. Look again.
      this.watchFrom(flow, owed, false);
      return;
    }
    // Rather than holding events for a client that stopped reading, drop it;
    // its EventSource reconnects and resumes from Last-Event-ID.
    logger.warn(`dropping a client that is not reading: ${owed} bytes owed`);
    droppedSlowClients.add(this.incomingRequest());
    this.release();
    this.drop();
  }

  /** Lets go of what waits for a client that is gone. */
  private release(): void {
    const flow = this.flow;
    if (flow === null) return;
    this.flow = null;
    clearTimeout(flow.watch);
    this.drainEmitter().off('drain', flow.onDrain);
  }

  error(err: unknown): void {
    if (this.early) {
      this.failure = err;
      return;
    }
    // The headers are out: no status can be sent any more, so the stream just ends.
    logger.error(`stream failed: ${(err as Error)?.message ?? err}`);
    this.end();
  }

  complete(): void {
    if (this.early) this.completed = true;
    // What is queued goes out first (an auth-expired, a last event), then the end.
    else if (this.flow?.queue) this.flow.endWhenFlushed = true;
    else this.end();
  }

  private end(): void {
    this.release();
    this.response.off('close', this.onClose);
    if (!this.response.writableEnded) this.response.end();
  }
}

/**
 * Frames waiting for the transport to drain, from `queueHead` on (`queue` is null
 * while it takes writes), and the slow-client check. A replay or a burst goes out
 * in batches of what the transport takes, so it never sits whole in the socket's buffer.
 */
class SinkFlow {
  queue: (SseFrame | undefined)[] | null = null;
  queueHead = 0;
  queuedBytes = 0;
  /** A complete() that came while frames were queued: the response ends once they are written. */
  endWhenFlushed = false;
  /** The check, armed while the client owes more than the limit. */
  watch?: NodeJS.Timeout;
  /**
   * What the client owed at the previous look; before the first look, what it
   * owed when the check was armed plus what it was sent since.
   */
  owedAtWatch = 0;
  /** Until the first look after the client went over the limit. */
  firstLook = false;

  constructor(readonly onDrain: () => void) {}
}

function checkSlowClient(sink: ResponseSink): void {
  sink.checkSlowClient();
}

class Http1Sink extends ResponseSink {
  declare protected readonly response: ServerResponse;
  /** Writes of one tick (a burst of events) leave in one syscall, as node:http does for its own writes. */
  corked = false;
  /** Set for the direct path: pre-encoded HTTP/1.1 chunks go to it. Otherwise frames go through the response. */
  socket: Socket | null = null;

  constructor(
    private readonly request: IncomingMessage,
    response: ServerResponse,
    maxPendingDataLength: number,
  ) {
    super(response, maxPendingDataLength);
  }

  protected incomingRequest(): object {
    return this.request;
  }

  protected head(): void {
    const socket = this.request.socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    socket.setTimeout(0);
    // Headers set earlier (CORS middleware, @Header(), interceptors) are kept by writeHead.
    const http10 = this.request.httpVersionMajor === 1 && this.request.httpVersionMinor === 0;
    this.response.writeHead(200, http10 ? SSE_HTTP10_RESPONSE_HEADERS : SSE_RESPONSE_HEADERS);
    // The head waits for the opening frame (written in this tick): one syscall per connect, not two.
    socket.cork();
    process.nextTick(uncorkSocket, socket);
    this.response.flushHeaders();
    // Once the head is on the socket, the body goes straight to the socket as
    // HTTP/1.1 chunks, skipping ServerResponse's per-write work. HTTP/1.0 (no
    // chunked encoding) goes through the response.
    const { response } = this;
    if (response.socket !== null && response.headersSent && response.chunkedEncoding === true) this.socket = socket;
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
    // On the direct path the socket is what is written to, and a plain object to read (Express swaps the response's prototype).
    const socket = this.socket;
    return socket !== null ? socket.destroyed : this.response.destroyed;
  }

  protected drop(): void {
    this.response.destroy();
  }

  /** The direct path writes to the socket; HTTP/1.0 through the response. */
  protected drainEmitter(): NodeJS.EventEmitter {
    return this.socket ?? this.response;
  }
}

function uncorkSocket(socket: Socket): void {
  socket.uncork();
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

  protected incomingRequest(): object {
    return this.response.req;
  }

  /** No socket settings: the socket is the connection's, shared by all its streams. */
  protected head(): void {
    this.response.writeHead(200, SSE_HTTP2_RESPONSE_HEADERS);
  }

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

  protected drainEmitter(): NodeJS.EventEmitter {
    return this.response.stream;
  }
}
