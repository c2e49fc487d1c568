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

/**
 * Node's own request and response behind a route's `@Req()` and `@Res()`, for
 * the sink, once guards and the handler accepted the stream. Express's are
 * Node's own. Fastify wraps them: its reply is hijacked, so that Fastify never
 * answers it a second time, and the headers set on the reply (`@Header()`,
 * interceptors) move to the raw response, which is all that is written from here on.
 */
export function takeOverResponse(request: object, response: object): { request: SseRawRequest; response: SseRawResponse } {
  if (!isFastifyReply(response)) return { request: request as SseRawRequest, response: response as SseRawResponse };
  response.hijack();
  const raw = response.raw;
  const headers = response.getHeaders();
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value !== undefined) raw.setHeader(name, value);
  }
  return { request: (request as FastifyRequestLike).raw, response: raw };
}

function isFastifyReply(response: object): response is FastifyReplyLike {
  return typeof (response as Partial<FastifyReplyLike>).hijack === 'function' && 'raw' in response;
}
