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
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('/api/events?topic=a');
    expect(url).not.toContain(TOKEN);
    expect(init).toMatchObject({ method: 'POST', credentials: 'include', headers: { authorization: `Bearer ${TOKEN}` } });
  });

  it.each([
    ['a 401', answering(401, { message: 'Invalid token' }), /answered HTTP 401/, 401],
    ['a 429', answering(429, {}), /answered HTTP 429/, 429],
    ['a 200 without a ticket', answering(200, { nope: 1 }), /answered no ticket/, 200],
    ['a 200 that is not JSON', jest.fn<SseTicketFetch>(async () => ({ ok: true, status: 200, json: async () => { throw new SyntaxError('x'); } })), /answered no ticket/, 200],
    ['a network failure', jest.fn<SseTicketFetch>(async () => { throw new TypeError('fetch failed'); }), /failed: fetch failed/, undefined],
  ])('rejects on %s with a token error that names no credential', async (_, fetch, message, httpStatus) => {
    const error = await fetchSseTicket('/api/events', TOKEN, { fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SseClientError);
    expect(error).toMatchObject({ code: 'token', httpStatus });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});
