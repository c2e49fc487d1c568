import { randomBytes } from 'node:crypto';

/** Random bytes in a ticket: 256 bits, 43 URL-safe characters (base64url, no padding). */
const TICKET_BYTES = 32;
/** What a ticket looks like; anything else (a JWT, with its dots) is refused without a lookup. */
const TICKET_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * A new stream ticket: 256 random bits (`crypto.randomBytes`), 43 URL-safe
 * characters (base64url, no padding). What the stores the module makes issue,
 * and what a custom `SseTicketStore` should issue too: a ticket travels in a
 * URL (`?ticket=`) and is the only credential of the stream it opens, so it
 * must be unguessable and need no escaping. The guards refuse anything else
 * without asking the store.
 *
 * @publicApi
 */
export function newTicket(): string {
  return randomBytes(TICKET_BYTES).toString('base64url');
}

/** Whether `value` can be a ticket at all (stores look nothing else up). */
export function isTicketFormat(value: string): boolean {
  return TICKET_FORMAT.test(value);
}
