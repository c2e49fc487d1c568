/**
 * Sets query parameters on a URL (absolute or relative), keeping its other parameters
 * and its fragment. Parameters whose value is `undefined` or empty are left as they are.
 */
export function withQueryParams(url: string, params: Record<string, string | undefined>): string {
  const hashAt = url.indexOf('#');
  const hash = hashAt === -1 ? '' : url.slice(hashAt);
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const queryAt = beforeHash.indexOf('?');
  const path = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : beforeHash.slice(queryAt + 1));
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(name, value);
  }
  const search = query.toString();
  return `${path}${search === '' ? '' : `?${search}`}${hash}`;
}

/** The stream URL with its credential (`ticket` or `token`) and, when known, `lastEventId`, as the server reads them. */
export function buildStreamUrl(url: string, params: { token?: string; ticket?: string; lastEventId?: string }): string {
  return withQueryParams(url, { token: params.token, ticket: params.ticket, lastEventId: params.lastEventId });
}
