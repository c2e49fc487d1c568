import { SSE_AUTH_REASON_HEADER } from '@nest-sse/protocol';
import type { ExecutionContext } from '@nestjs/common';

import { SseUnauthorizedError } from '../sse.exceptions.js';

/** Express's response (Node's own) or Fastify's reply: where a header goes before the exception filter answers. */
interface HeaderTarget {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/**
 * Puts a refused request's 401 category (`SseUnauthorizedError.reason`) in the
 * `SSE-Auth-Reason` response header, which the exception filter's answer keeps:
 * a `HEAD` has no body for its `reason`, and the browser client's probe is a `HEAD`.
 * Anything else thrown (another status, a hook's own exception) gets no header.
 */
export function exposeAuthReason(context: ExecutionContext, err: unknown): void {
  if (!(err instanceof SseUnauthorizedError) || context.getType() !== 'http') return;
  const response = context.switchToHttp().getResponse<HeaderTarget>();
  // Fastify's reply has header(); Express's response is Node's own, with setHeader().
  if (typeof response?.header === 'function' && 'raw' in response) response.header(SSE_AUTH_REASON_HEADER, err.reason);
  else if (typeof response?.setHeader === 'function') response.setHeader(SSE_AUTH_REASON_HEADER, err.reason);
}
