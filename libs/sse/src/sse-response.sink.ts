import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Observable } from 'rxjs';
import type { SseFrame } from './sse-event.js';
import { wireOf } from './sse-wire.js';

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
 * The last mile: writes a stream's frames to the socket, each as the text
 * cached on the frame, with no per-event Promise, Transform stream or
 * re-serialisation (what Nest's generic `@Sse()` pipeline costs per connection).
 *
 * It runs only once guards and the handler have accepted the request, so a 401
 * or 429 is still answered by Nest's exception filters before any byte is sent.
 * The returned Observable is what the route hands to Nest: Nest subscribes to it
 * through the interceptors and unsubscribes when the client goes away. It emits
 * once, when the stream is over, so interceptors see the stream start and end.
 */
export function writeSseStream(
  frames: Observable<SseFrame>,
  request: IncomingMessage,
  response: ServerResponse,
  { maxPendingDataLength }: SseSinkOptions,
): Observable<true> {
  return new Observable<true>((subscriber) => {
    const socket = request.socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    socket.setTimeout(0);
    // Headers set earlier (CORS middleware, @Header(), interceptors) are kept by writeHead.
    response.writeHead(200, SSE_RESPONSE_HEADERS);
    response.flushHeaders();

    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (!response.writableEnded) response.end();
      subscriber.next(true);
      subscriber.complete();
    };
    const subscription = frames.subscribe({
      next: (frame) => {
        if (response.destroyed) return;
        response.write(wireOf(frame));
        // Rather than holding events for a client that stopped reading, drop it;
        // its EventSource reconnects and resumes from Last-Event-ID.
        if (response.writableLength > maxPendingDataLength) {
          logger.warn(`dropping a client that is not reading: ${response.writableLength} bytes pending`);
          response.destroy();
        }
      },
      error: (err: unknown) => {
        // The headers are out: no status can be sent any more, so the stream just ends.
        logger.error(`stream failed: ${(err as Error)?.message ?? err}`);
        finish();
      },
      complete: finish,
    });
    const onClose = () => {
      subscription.unsubscribe();
      finish();
    };
    response.once('close', onClose);
    return () => {
      response.off('close', onClose);
      subscription.unsubscribe();
      if (!response.writableEnded) response.end();
    };
  });
}
