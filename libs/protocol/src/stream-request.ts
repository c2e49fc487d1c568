import { readShared, SSE_SHARED_PARAM } from './shared-stream.js';

/**
 * What a stream request asks for besides its credential, read the same way by the
 * server's route and by `SseService.stream()` / `openStream()` on an app's own routes:
 * where it resumes from, and whether it is a shared stream. Each takes Express's or
 * Fastify's request (its parsed `query`) or Node's own (its `url`).
 */

/** Where a fresh EventSource resumes from, in the stream's URL (`@nest-sse/client` after a recovery, a page after a reload). */
export const SSE_LAST_EVENT_ID_PARAM = 'lastEventId';

/**
 * Not an id this server issues: what a request gets for a `lastEventId` it
 * gave more than once, so that it is answered as any malformed id (a `reset`).
 */
const NOT_AN_EVENT_ID = '\u0000';

/**
 * Where a stream request resumes from, the one rule of the module's route and
 * of `SseService.stream()` / `openStream()`: its `Last-Event-ID` header when not
 * empty, else its `lastEventId` query parameter, else `undefined` (from now).
 * The header wins: an EventSource that reconnects by itself sends its newest
 * id there, while its URL keeps the `lastEventId` it was opened with; the
 * parameter is for a fresh EventSource, which cannot set headers. A parameter
 * given more than once (or as anything but one string) is an id no server
 * issues, so it is answered with a `reset` like any malformed one and never
 * written back. Takes Express's or Fastify's request (its parsed `query`) or
 * Node's own (its `url`).
 */
export function readLastEventId(request: object): string | undefined {
  const header = (request as { headers?: Record<string, unknown> }).headers?.['last-event-id'];
  if (typeof header === 'string' && header.length > 0) return header;
  const value = queryParam(request, SSE_LAST_EVENT_ID_PARAM);
  if (value === undefined) return undefined;
  // A repeated parameter arrives as an array (qs may make an object of it): not an id.
  return typeof value === 'string' ? value : NOT_AN_EVENT_ID;
}

/**
 * One query parameter of a request: from Express's or Fastify's parsed `query`, else
 * from Node's own `url` (an array when repeated there); `undefined` when absent.
 */
function queryParam(request: object, name: string): unknown {
  const { query, url } = request as { query?: unknown; url?: unknown };
  if (query !== null && typeof query === 'object') return (query as Record<string, unknown>)[name];
  if (typeof url !== 'string' || !url.includes('?')) return undefined;
  const values = new URLSearchParams(url.slice(url.indexOf('?') + 1)).getAll(name);
  return values.length > 1 ? values : values[0];
}

/**
 * Whether a stream request asks for a shared stream, the one rule of the module's
 * route and of `SseService.stream()` / `openStream()`: its `shared` query parameter
 * by `readShared` (`false` when absent, `true` for `1`, a string saying why for a
 * bad value, answered with a 400). Takes Express's or Fastify's request (its parsed
 * `query`) or Node's own (its `url`), as `readLastEventId` does.
 */
export function readSharedParam(request: object): boolean | string {
  return readShared(queryParam(request, SSE_SHARED_PARAM));
}
