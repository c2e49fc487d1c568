import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observable, Subscription } from 'rxjs';
import type { SseFrame } from './sse-event.js';
import { chunkOf, wireOf } from './sse-wire.js';

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
 * The route's handler returns as soon as the stream is set up: nothing of Nest's
 * per-request machinery (its promise chain, its subscription to a returned
 * Observable) stays alive for the stream's lifetime, which halved the heap each
 * open stream costs. The stream ends when the frames complete or the client leaves.
 */
export function pipeSseStream(
  frames: Observable<SseFrame>,
  request: IncomingMessage,
  response: ServerResponse,
  { maxPendingDataLength }: SseSinkOptions,
): Subscription {
  const socket = request.socket;
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  socket.setTimeout(0);
  // Headers set earlier (CORS middleware, @Header(), interceptors) are kept by writeHead.
  response.writeHead(200, SSE_RESPONSE_HEADERS);
  response.flushHeaders();

  const end = () => {
    if (!response.writableEnded) response.end();
  };
  // Once the head is on the socket, the body goes straight to the socket, as
  // HTTP/1.1 chunks encoded once per frame: one write of shared bytes per event,
  // without the per-write work of ServerResponse (whose per-request prototype
  // change in Express also makes every access to it slow). Otherwise, through the response.
  const direct = response.socket !== null && response.headersSent && response.chunkedEncoding === true;
  // Writes of one tick (a burst of events) leave in one syscall, as node:http
  // itself does for response writes: cork on the first, uncork on the next tick.
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const write = direct
    ? (frame: SseFrame) => {
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(uncork);
        }
        return socket.write(chunkOf(frame));
      }
    : (frame: SseFrame) => response.write(wireOf(frame));
  const subscription = frames.subscribe({
    next: (frame) => {
      if (response.destroyed) return;
      // Checked only once a write reports a full buffer, to keep the common path short.
      if (!write(frame) && response.writableLength > maxPendingDataLength) {
        // Rather than holding events for a client that stopped reading, drop it;
        // its EventSource reconnects and resumes from Last-Event-ID.
        logger.warn(`dropping a client that is not reading: ${response.writableLength} bytes pending`);
        response.destroy();
      }
    },
    error: (err: unknown) => {
      // The headers are out: no status can be sent any more, so the stream just ends.
      logger.error(`stream failed: ${(err as Error)?.message ?? err}`);
      end();
    },
    complete: end,
  });
  const onClose = () => subscription.unsubscribe();
  // `on`, not `once`: once() wraps the listener in a bound function per stream; unsubscribe is idempotent.
  response.on('close', onClose);
  subscription.add(() => {
    response.off('close', onClose);
    end();
  });
  // A client that left while the guards ran has closed already: 'close' will not come again.
  if (response.destroyed || socket.destroyed) subscription.unsubscribe();
  return subscription;
}
