import type { SseRawRequest, SseRawResponse } from './sse-response.sink.js';

/** The parts of Fastify's request and reply the stream needs (the library does not depend on Fastify). */
interface FastifyRequestLike {
  raw: SseRawRequest;
}
interface FastifyReplyLike {
  raw: SseRawResponse;
  hijack(): unknown;
  getHeaders(): Record<string, number | string | string[] | undefined>;
}

/** Node's own request and response behind a route's `@Req()` and `@Res()`: Express's are Node's own, Fastify wraps them. */
export function rawRequestAndResponse(
  request: object,
  response: object,
): { request: SseRawRequest; response: SseRawResponse } {
  return isFastifyReply(response)
    ? { request: (request as FastifyRequestLike).raw, response: response.raw }
    : { request: request as SseRawRequest, response: response as SseRawResponse };
}

/**
 * Takes the response over from the platform, once the stream is accepted: on
 * Fastify the reply is hijacked, so that Fastify never answers it a second
 * time, and the headers set on it (`@Header()`, interceptors) move to the raw
 * response, which is all that is written from here on. Express needs nothing.
 */
export function takeOverResponse(response: object): void {
  if (!isFastifyReply(response)) return;
  const raw = response.raw;
  const headers = response.getHeaders();
  // Copied first: a value Node refuses throws while Fastify can still answer (the filters' 500).
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value !== undefined) raw.setHeader(name, value);
  }
  response.hijack();
}

function isFastifyReply(response: object): response is FastifyReplyLike {
  return typeof (response as Partial<FastifyReplyLike>).hijack === 'function' && 'raw' in response;
}
