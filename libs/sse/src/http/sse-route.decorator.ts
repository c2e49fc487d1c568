import 'reflect-metadata';

import type { MessageEvent } from '@nestjs/common';
import { Get, Req, Res } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { isObservable, type Observable } from 'rxjs';

import { DEFAULT_SSE_EXTRAS } from '../options/sse.defaults.js';
import { integerOption } from '../options/sse-options.resolver.js';
import { SseShuttingDownError } from '../sse.exceptions.js';
import { tick } from '../streams/sse-subscription.context.js';
import { isThenable } from '../utils/is-thenable.js';
import { rawRequestAndResponse } from './sse-platform.adapter.js';
import { pipeSseStream } from './sse-response.sink.js';

/** Options of `@SseRoute()`. */
export interface SseRouteOptions {
  /** Bytes of unsent output past which a client that does not read is dropped. Default 1 MiB. */
  maxPendingDataLength?: number;
}

type StreamHandler = (...args: any[]) => Observable<MessageEvent> | PromiseLike<Observable<MessageEvent>>;

/**
 * A GET route whose handler returns a stream, for example `SseService.stream(...)`,
 * written to the client by the module's own sink: each frame's bytes are encoded
 * once and go straight to the socket, without the per-event Promise and Transform
 * stream of Nest's generic `@Sse()` pipeline, and nothing of Nest's request
 * handling stays alive for the stream's lifetime.
 *
 * ```ts
 * @SseRoute('projects/:id/events')
 * @UseGuards(SseAuthGuard, ProjectMemberGuard)
 * events(@SseStreamUser() user: SseUser, @Req() request: Request) {
 *   return this.sse.stream(user.userId, { request, expiresAt: user.expiresAt });
 * }
 * ```
 *
 * The stream resumes from the request as the module's route does: its
 * `Last-Event-ID` header, else its `?lastEventId=` (how `@nest-sse/client` and a
 * reloaded page resume, since EventSource cannot set headers), with a replay of
 * what was missed or a `reset`. Give it the `request` (it also tells a HEAD at
 * the call); a stream the handler made without it reads the request the sink
 * subscribes it for, and a stream made outside the handler (one shared by the
 * route's requests) never does. `lastEventId: null` starts from now whatever the
 * request says, and a non-empty `lastEventId` overrides it.
 *
 * Guards, pipes, interceptors and exception filters apply as on any route: a
 * handler that throws (or a stream that fails as it is subscribed, such as
 * `SseConnectionLimitError`'s 429) is answered by the filters before any byte.
 *
 * Unlike the module's other decorators, this one wraps the method it decorates:
 * Nest's router offers no hook between a handler's result and the response
 * except interceptors, which would keep their chain subscribed to every open
 * stream. The wrapper gets the request and response through `@Req()` and `@Res()`
 * recorded for two extra arguments after the handler's own (so Nest leaves the
 * response to it), calls the handler with its own arguments, and hands what it
 * returns to the sink.
 *
 * @publicApi
 */
export function SseRoute(path?: string | string[], options: SseRouteOptions = {}): MethodDecorator {
  const maxPendingDataLength = integerOption(
    '@SseRoute()',
    'maxPendingDataLength',
    options.maxPendingDataLength ?? DEFAULT_SSE_EXTRAS.maxPendingDataLength,
    { min: 1 },
  );
  return <T>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> => {
    const handler = descriptor.value as unknown as StreamHandler;
    if (typeof handler !== 'function') throw new Error(`@SseRoute() decorates methods only (${String(key)})`);
    // Parameter decorators ran before this one: the wrapper's two arguments go after every recorded one.
    const recorded = Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key) as
      Record<string, { index: number }> | undefined;
    const arity = Math.max(handler.length, ...Object.values(recorded ?? {}).map(({ index }) => index + 1));
    Req()(target, key, arity);
    Res()(target, key, arity + 1);

    const route = function (this: unknown, ...args: unknown[]): unknown {
      const request = args[arity];
      const response = args[arity + 1];
      // Streams made from here (stream() / openStream() without request) are this route's: see subscribeForRequest.
      const handlerStartedAt = tick();
      const refused = (err: unknown): never => {
        if (err instanceof SseShuttingDownError)
          setRetryAfter(request as object, response as object, err.retryAfterSec);
        throw err;
      };
      const write = (frames: unknown): void => {
        if (!isObservable(frames)) {
          throw new TypeError(`@SseRoute() handler ${String(key)} must return an Observable of messages`);
        }
        pipeSseStream(frames as Observable<MessageEvent>, request as object, response as object, {
          maxPendingDataLength,
          handlerStartedAt,
        });
      };
      let result: unknown;
      try {
        result = handler.apply(this, args.slice(0, arity));
        // A Promise goes back to Nest, so that its rejection reaches the exception filters.
        return isThenable(result) ? Promise.resolve(result).then(write).catch(refused) : write(result);
      } catch (err) {
        return refused(err);
      }
    };
    Object.defineProperty(route, 'name', { value: handler.name, configurable: true });
    // Decorators applied before this one (below it) left their metadata on the handler.
    for (const metadataKey of Reflect.getOwnMetadataKeys(handler)) {
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, handler), route);
    }
    descriptor.value = route as unknown as T;
    return Get(path ?? '/')(target, key, descriptor) ?? descriptor;
  };
}

/**
 * A 503 at shutdown says when to come back (as ThrottlerGuard's 429 does), on the
 * raw response, which both platforms' exception filters answer through.
 */
function setRetryAfter(request: object, response: object, seconds: number): void {
  const raw = rawRequestAndResponse(request, response).response;
  if (!raw.headersSent) raw.setHeader('Retry-After', String(seconds));
}
