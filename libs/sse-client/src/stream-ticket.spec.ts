import { describe, expect, it, jest } from '@jest/globals';

import { SseClientError } from './sse-client.errors.js';
import { fetchSseTicket, type SseTicketFetch } from './stream-ticket.js';

const TOKEN = 'header.payload.signature';

const answering = (status: number, body: unknown) =>
  jest.fn<SseTicketFetch>(async () => ({ ok: status >= 200 && status < 300, status, json: async () => body }));

describe('fetchSseTicket', () => {
  it('POSTs to the stream URL with the token in Authorization only, and resolves to the ticket', async () => {
    const fetch = answering(200, { ticket: 'tkt', expiresInMs: 30_000 });
    await expect(fetchSseTicket('/api/events?topic=a', TOKEN, { fetch, credentials: 'include' })).resolves.toBe('tkt');
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/events?topic=a');
    expect(url).not.toContain(TOKEN);
    expect(init).toMatchObject({
      method: 'POST',
      credentials: 'include',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
  });

  it.each([
    ['a 401', answering(401, { message: 'Invalid token' }), /answered HTTP 401/, 401],
    ['a 429', answering(429, {}), /answered HTTP 429/, 429],
    ['a 200 without a ticket', answering(200, { nope: 1 }), /answered no ticket/, 200],
    [
      'a 200 that is not JSON',
      jest.fn<SseTicketFetch>(async () => ({
        ok: true,
        status: 200,
        json: async () => {
          throw new SyntaxError('x');
        },
      })),
      /answered no ticket/,
      200,
    ],
    [
      'a network failure',
      jest.fn<SseTicketFetch>(async () => {
        throw new TypeError('fetch failed');
      }),
      /failed: fetch failed/,
      undefined,
    ],
  ])('rejects on %s with a token error that names no credential', async (_, fetch, message, httpStatus) => {
    const error = await fetchSseTicket('/api/events', TOKEN, { fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SseClientError);
    expect(error).toMatchObject({ code: 'token', httpStatus });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it("reads a 401's reason category from its body, for SseClient to report (never the token)", async () => {
    const fetch = answering(401, { statusCode: 401, message: 'Token expired', reason: 'expired' });
    const error = await fetchSseTicket('/api/events', TOKEN, { fetch }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'token', httpStatus: 401, reason: 'expired' });
    expect((error as Error).message).toMatch(/HTTP 401 \(expired\)/);
    const odd = await fetchSseTicket('/api/events', TOKEN, {
      fetch: answering(401, { reason: `Bearer ${TOKEN}` }),
    }).catch((e: unknown) => e);
    expect((odd as SseClientError).reason).toBeUndefined();
    expect((odd as Error).message).not.toContain(TOKEN);
  });

  it('sends the topics as repeated topic parameters on the POST URL', async () => {
    const fetch = answering(200, { ticket: 'tkt' });
    await fetchSseTicket('/api/events?x=1', TOKEN, {
      fetch,
      topics: ['orders/123', 'tenants/acme/feed', 'orders/123'],
    });
    const [url] = fetch.mock.calls[0];
    const sent = new URL(url, 'http://h');
    expect(sent.pathname).toBe('/api/events');
    expect(sent.searchParams.get('x')).toBe('1');
    expect(sent.searchParams.getAll('topic')).toEqual(['orders/123', 'tenants/acme/feed']);
    expect(url).not.toContain(TOKEN);
  });

  it('refuses a bad topic before any request', async () => {
    const fetch = answering(200, { ticket: 'tkt' });
    await expect(fetchSseTicket('/api/events', TOKEN, { fetch, topics: ['orders/*'] })).rejects.toThrow(TypeError);
    await expect(fetchSseTicket('/api/events', TOKEN, { fetch, topics: ['a//b'] })).rejects.toThrow(
      /^Bad topics: SSE topic "a\/\/b"/,
    );
    expect(fetch).not.toHaveBeenCalled();
  });

  it('rejects a 403 (a refused topic) with its status, for SseClient to stop on', async () => {
    const fetch = answering(403, { statusCode: 403, message: 'Forbidden topics', topics: ['orders/9'] });
    const error = await fetchSseTicket('/api/events', TOKEN, { fetch, topics: ['orders/9'] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'token', httpStatus: 403 });
    expect((error as Error).message).toBe(
      'The ticket request to /api/events answered HTTP 403 (refused topics: orders/9)',
    );
  });
});
