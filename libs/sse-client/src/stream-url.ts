import { SSE_SHARED_PARAM } from '@nest-sse/protocol';

/**
 * Sets query parameters on a URL (absolute or relative), keeping its other parameters
 * and its fragment. Parameters whose value is `undefined` or empty (`''`, `[]`) are left
 * as they are; an array replaces every occurrence of its parameter with one per item.
 */
export function withQueryParams(url: string, params: Record<string, string | readonly string[] | undefined>): string {
  const hashAt = url.indexOf('#');
  const hash = hashAt === -1 ? '' : url.slice(hashAt);
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const queryAt = beforeHash.indexOf('?');
  const path = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : beforeHash.slice(queryAt + 1));
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value.length === 0) continue;
    if (typeof value === 'string') {
      query.set(name, value);
    } else {
      query.delete(name);
      for (const item of value) query.append(name, item);
    }
  }
  const search = query.toString();
  return `${path}${search === '' ? '' : `?${search}`}${hash}`;
}

/**
 * The stream URL with its credential (`ticket` or `token`), its topics (one `topic`
 * parameter each, replacing any in `url`), when known `lastEventId`, and `shared=1` when
 * asked (a shared stream's leader: topic events tagged, the opening as an event), as the server
 * reads them. With a ticket, pass no topics: the ticket carries them.
 */
export function buildStreamUrl(
  url: string,
  params: { token?: string; ticket?: string; topics?: readonly string[]; lastEventId?: string; shared?: boolean },
): string {
  return withQueryParams(url, {
    token: params.token,
    ticket: params.ticket,
    topic: params.topics,
    lastEventId: params.lastEventId,
    [SSE_SHARED_PARAM]: params.shared ? '1' : undefined,
  });
}
