/**
 * What a stream request asks for besides its credential, read the same way by the
 * server's route and by `SseService.stream()` / `openStream()` on an app's own routes.
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
  const { headers, query, url } = request as { headers?: Record<string, unknown>; query?: unknown; url?: unknown };
  const header = headers?.['last-event-id'];
  if (typeof header === 'string' && header.length > 0) return header;
  let value: unknown;
  if (query !== null && typeof query === 'object') {
    value = (query as Record<string, unknown>)[SSE_LAST_EVENT_ID_PARAM];
  } else if (typeof url === 'string' && url.includes('?')) {
    const values = new URLSearchParams(url.slice(url.indexOf('?') + 1)).getAll(SSE_LAST_EVENT_ID_PARAM);
    value = values.length > 1 ? values : values[0];
  }
  if (value === undefined) return undefined;
  // A repeated parameter arrives as an array (qs may make an object of it): not an id.
  return typeof value === 'string' ? value : NOT_AN_EVENT_ID;
}
