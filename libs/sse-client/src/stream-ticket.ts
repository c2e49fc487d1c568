import { readAuthReason, SseClientError } from './sse-client.errors.js';
import { resolveTopics } from './stream-topics.js';
import { withQueryParams } from './stream-url.js';

const UNAUTHORIZED = 401;
const FORBIDDEN = 403;

/** The part of `fetch` the ticket request uses (the browser's, Node's, or a fake). */
export type SseTicketFetch = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; credentials?: RequestCredentials; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export interface FetchSseTicketOptions {
  /** Default `globalThis.fetch`. */
  fetch?: SseTicketFetch;
  /** Passed to `fetch` (cookies on a cross-origin request need `'include'`). */
  credentials?: RequestCredentials;
  signal?: AbortSignal;
  /**
   * Topics the ticket subscribes to, sent as repeated `topic` query parameters on the
   * POST (the server binds them into the ticket; the GET then carries only `?ticket=`).
   * `SseClient` passes its own to `getTicket`: forward them here.
   */
  topics?: readonly string[];
}

/**
 * Asks the server for a stream ticket: `POST` to the stream URL with
 * `Authorization: Bearer <token>` (never the token in the URL), no body, and one
 * `topic` query parameter per topic (checked first, like `SseClient` does). Resolves
 * to the ticket, to put in `?ticket=` once; rejects with an `SseClientError`
 * (`code: 'token'`, `httpStatus` when the server answered) otherwise, which
 * `SseClient`'s `getTicket` turns into a retry with backoff, except a 403 (a refused
 * topic, or a user the server forbids), which stops it (`forbidden`), and a 401, whose
 * `reason` is the server's category (`expired`, `revoked`...) and which stops it after
 * `maxAuthFailures` in a row (`unauthorized`). Neither the token nor
 * the ticket is ever in an error message.
 *
 * ```ts
 * createSseClient('/api/events', {
 *   topics: ['orders/123'],
 *   getTicket: async ({ topics }) => fetchSseTicket('/api/events', await auth.token(), { topics }),
 * });
 * ```
 */
export async function fetchSseTicket(
  url: string | URL,
  token: string,
  options: FetchSseTicketOptions = {},
): Promise<string> {
  const target = String(url);
  // Before any request: a name the server refuses is the app's mistake, not a reason to ask.
  const topics = resolveTopics(options.topics);
  const fetchImpl = options.fetch ?? (globalThis as { fetch?: SseTicketFetch }).fetch;
  if (typeof fetchImpl !== 'function')
    throw new SseClientError('unsupported', 'No fetch implementation: pass options.fetch');
  let response: Awaited<ReturnType<SseTicketFetch>>;
  try {
    response = await fetchImpl(withQueryParams(target, { topic: topics }), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      credentials: options.credentials,
      signal: options.signal,
    });
  } catch (err) {
    throw new SseClientError(
      'token',
      `The ticket request to ${target} failed: ${(err as Error)?.message ?? String(err)}`,
      {
        cause: err,
      },
    );
  }
  const { status } = response;
  if (!response.ok) {
    // A 403 names the topics the server refused, a 401 why the token was refused: worth a line in the error.
    const body =
      status === FORBIDDEN || status === UNAUTHORIZED ? await response.json().catch(() => undefined) : undefined;
    const reason =
      status === UNAUTHORIZED ? readAuthReason((body as { reason?: unknown } | undefined)?.reason) : undefined;
    const detail = status === FORBIDDEN ? refusedTopics(body) : reason === undefined ? '' : ` (${reason})`;
    throw new SseClientError('token', `The ticket request to ${target} answered HTTP ${status}${detail}`, {
      httpStatus: status,
      reason,
    });
  }
  const body = await response.json().catch(() => undefined);
  const ticket = (body as { ticket?: unknown } | undefined)?.ticket;
  if (typeof ticket !== 'string' || ticket === '') {
    throw new SseClientError('token', `The ticket request to ${target} answered no ticket`, { httpStatus: status });
  }
  return ticket;
}

/** ` (refused topics: a, b)` from a 403's JSON body `{ topics }`, or nothing. */
function refusedTopics(body: unknown): string {
  const topics = (body as { topics?: unknown } | undefined)?.topics;
  if (!Array.isArray(topics)) return '';
  const names = topics.filter((topic): topic is string => typeof topic === 'string');
  return names.length === 0 ? '' : ` (refused topics: ${names.join(', ')})`;
}
