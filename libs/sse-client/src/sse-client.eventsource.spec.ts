/**
 * The client against a real EventSource implementation (the `eventsource` package,
 * which follows the WHATWG spec like browsers do) and a small HTTP server speaking
 * the nest-sse wire format: 401/403/429 as JSON before the stream, `event:`/`id:`/`data:`
 * frames, `auth-expired` followed by the end of the stream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';

import type { SseClientError } from './sse-client.errors.js';
import { createSseClient, type SseClient } from './sse-client.js';
import type { SseStatus, SseStatusReason } from './sse-client.types.js';
import { fetchSseTicket } from './stream-ticket.js';

interface Frame {
  id: string;
  type: string;
  data: unknown;
}

interface RequestLog {
  method: string | undefined;
  token: string | null;
  lastEventIdQuery: string | null;
  lastEventIdHeader: string | undefined;
  topics: string[];
}

class DemoServer {
  readonly requests: RequestLog[] = [];
  readonly history: Frame[] = [];
  readonly validTokens = new Set<string>();
  /** Answer the next N stream requests with 429. */
  tooMany = 0;
  /** The category of a 401, in its body and its `SSE-Auth-Reason` header, as the nest-sse server names it. */
  authReason = 'expired';
  /** A stream asking for any of these is refused with 403, as the server refuses a topic. */
  readonly forbiddenTopics = new Set<string>();
  /** Refuse this many more ticket streams (401 `ticket`), as a ticket dropped for a newer one is. */
  spoilTickets = 0;
  /** Tickets issued by `POST` (to a valid Bearer token), each good for one stream. */
  private readonly tickets = new Set<string>();
  private readonly streams = new Set<ServerResponse>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/events?channel=main`;
  }

  async stop(): Promise<void> {
    for (const res of this.streams) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  get openStreams(): number {
    return this.streams.size;
  }

  publish(type: string, data: unknown): Frame {
    const frame = { id: String(this.history.length + 1), type, data };
    this.history.push(frame);
    for (const res of this.streams) write(res, frame);
    return frame;
  }

  /** Sends `auth-expired` on every stream and ends them, as the server does when a token expires. */
  expireAll(): void {
    const lastId = String(this.history.length);
    for (const res of this.streams) {
      write(res, { id: lastId, type: 'auth-expired', data: { reason: 'token expired' } });
      res.end();
    }
  }

  /** Ends every stream without a word: the EventSource reconnects by itself. */
  dropAll(): void {
    for (const res of this.streams) res.end();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const header = req.headers['last-event-id'];
    const log: RequestLog = {
      method: req.method,
      token: url.searchParams.get('token'),
      lastEventIdQuery: url.searchParams.get('lastEventId'),
      lastEventIdHeader: typeof header === 'string' ? header : undefined,
      topics: url.searchParams.getAll('topic'),
    };
    this.requests.push(log);
    if (url.searchParams.get('channel') !== 'main') return json(res, 404, { statusCode: 404 });
    const refuse = () =>
      json(res, 401, { statusCode: 401, reason: this.authReason }, { 'sse-auth-reason': this.authReason });
    if (req.method === 'POST') {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !this.validTokens.has(bearer)) return refuse();
      const ticket = `tk-${this.requests.length}`;
      this.tickets.add(ticket);
      return json(res, 200, { ticket, expiresInMs: 30_000 });
    }
    const ticket = url.searchParams.get('ticket');
    if (ticket !== null) {
      if (!this.tickets.delete(ticket) || this.spoilTickets-- > 0)
        return json(res, 401, { statusCode: 401, reason: 'ticket' }, { 'sse-auth-reason': 'ticket' });
    } else if (!log.token || !this.validTokens.has(log.token)) {
      return json(res, 401, { statusCode: 401, reason: this.authReason }, { 'sse-auth-reason': this.authReason });
    }
    const refused = log.topics.filter((topic) => this.forbiddenTopics.has(topic));
    if (refused.length > 0) return json(res, 403, { statusCode: 403, message: 'Forbidden topics', topics: refused });
    if (this.tooMany > 0) {
      this.tooMany -= 1;
      return json(res, 429, { statusCode: 429 });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('retry: 50\n\n');
    // The header (browser reconnect) wins over the query (client recovery).
    const after = Number(log.lastEventIdHeader ?? log.lastEventIdQuery ?? this.history.length);
    for (const frame of this.history.filter((f) => Number(f.id) > after)) write(res, frame);
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }
}

function write(res: ServerResponse, frame: Frame): void {
  res.write(`event: ${frame.type}\nid: ${frame.id}\ndata: ${JSON.stringify(frame.data)}\n\n`);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A browser's EventSource: it does not say which HTTP status refused it (no `code` on its error event). */
class SilentStatusEventSource extends EventSource {
  override dispatchEvent(event: Event): boolean {
    if (event.type === 'error' && 'code' in event) return super.dispatchEvent(new Event('error'));
    return super.dispatchEvent(event);
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SseClient with the eventsource package against an HTTP server', () => {
  let server: DemoServer;
  let client: SseClient | undefined;
  let received: Array<[string, unknown]>;
  let statuses: SseStatus[];
  let errors: SseClientError[];

  let reasons: SseStatusReason[];

  const connect = (options: {
    token?: string;
    getToken?: () => Promise<string>;
    topics?: string[];
    maxAuthFailures?: number;
  }): SseClient => {
    client = createSseClient(server.url, {
      ...options,
      EventSource,
      backoff: { initialMs: 100, maxMs: 400, jitter: 0 },
      handlers: {
        notification: (data) => received.push(['notification', data]),
        update: (data) => received.push(['update', data]),
      },
      onStatus: (status, _, reason) => {
        statuses.push(status);
        reasons.push(reason);
      },
      onError: (error) => errors.push(error),
    });
    return client;
  };

  beforeEach(async () => {
    server = new DemoServer();
    await server.start();
    received = [];
    statuses = [];
    reasons = [];
    errors = [];
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    await server.stop();
  });

  it('recovers from a 401 with a fresh token from getToken', async () => {
    server.validTokens.add('good');
    const tokens = ['good'];
    const sse = connect({ token: 'stale', getToken: async () => tokens.shift() ?? 'none' });

    await until(() => sse.status === 'open', 'open');
    expect(errors.map((e) => [e.code, e.httpStatus])).toEqual([['connection', 401]]);
    // The stream requests; the client also asks a HEAD of the refused URL for the 401's category.
    expect(server.requests.filter((r) => r.method === 'GET').map((r) => r.token)).toEqual(['stale', 'good']);
    expect(statuses).toEqual(['reconnecting', 'open']);

    server.publish('notification', { n: 1 });
    await until(() => received.length === 1, 'an event');
    expect(received).toEqual([['notification', { n: 1 }]]);
    expect(sse.lastEventId).toBe('1');
  });

  it('recovers from a 429 after the backoff, resuming from lastEventId in the query', async () => {
    server.validTokens.add('t');
    const sse = connect({ token: 't' });
    await until(() => sse.status === 'open', 'open');
    server.publish('update', { v: 1 });
    await until(() => received.length === 1, 'first event');

    server.tooMany = 1;
    server.dropAll(); // browser-style reconnect gets 429: the EventSource gives up
    await until(() => errors.some((e) => e.httpStatus === 429), 'the 429');
    server.publish('update', { v: 2 }); // while nobody is connected
    await until(() => sse.status === 'open' && received.length === 2, 'recovery');

    expect(received).toEqual([
      ['update', { v: 1 }],
      ['update', { v: 2 }],
    ]);
    const last = server.requests.at(-1);
    expect(last?.lastEventIdQuery).toBe('1');
    expect(last?.lastEventIdHeader).toBeUndefined();
  });

  it('lets the EventSource reconnect by itself after a drop, with Last-Event-ID', async () => {
    server.validTokens.add('t');
    const sse = connect({ token: 't' });
    await until(() => sse.status === 'open', 'open');
    server.publish('notification', 'a');
    await until(() => received.length === 1, 'first event');

    server.dropAll();
    await until(() => statuses.includes('reconnecting'), 'reconnecting');
    await until(() => sse.status === 'open' && server.openStreams === 1, 'reopened');
    server.publish('notification', 'b');
    await until(() => received.length === 2, 'second event');

    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.lastEventIdHeader).toBe('1');
    expect(errors).toEqual([]);
  });

  it('handles auth-expired: new token, resumes after the last event, nothing lost or repeated', async () => {
    server.validTokens.add('first');
    const tokens = ['second'];
    const sse = connect({ token: 'first', getToken: async () => tokens.shift() ?? 'none' });
    await until(() => sse.status === 'open', 'open');
    server.publish('notification', 1);
    server.publish('notification', 2);
    await until(() => received.length === 2, 'two events');

    server.validTokens.delete('first');
    server.validTokens.add('second');
    server.expireAll();
    await until(() => sse.status === 'reconnecting', 'reconnecting');
    server.publish('notification', 3); // missed while reconnecting
    await until(() => received.length === 3, 'the missed event');

    expect(received.map(([, data]) => data)).toEqual([1, 2, 3]);
    expect(server.requests.map((r) => [r.token, r.lastEventIdQuery])).toEqual([
      ['first', null],
      ['second', '2'],
    ]);
    expect(errors).toEqual([]);
    expect(sse.status).toBe('open');
  });

  it('close() ends the stream on the server', async () => {
    server.validTokens.add('t');
    const sse = connect({ token: 't' });
    await until(() => server.openStreams === 1, 'stream');
    sse.close();
    await until(() => server.openStreams === 0, 'server-side close');
    expect(sse.status).toBe('closed');
  });

  it('subscribes to its topics on every request, the browser reconnect included', async () => {
    server.validTokens.add('t');
    const sse = connect({ token: 't', topics: ['orders/123', 'tenants/acme/feed'] });
    await until(() => sse.status === 'open', 'open');
    server.dropAll();
    await until(() => server.requests.length === 2 && server.openStreams === 1, 'reconnected');
    expect(server.requests.map((r) => r.topics)).toEqual([
      ['orders/123', 'tenants/acme/feed'],
      ['orders/123', 'tenants/acme/feed'],
    ]);
  });

  it("stops with status unauthorized after 3 refused fresh tokens (401), naming the server's reason, and asks no more", async () => {
    server.authReason = 'revoked';
    let issued = 0;
    const sse = connect({ token: 'stale', getToken: async () => `fresh-${++issued}` });
    await until(() => sse.status === 'unauthorized', 'unauthorized');
    expect(sse.statusReason).toBe('unauthorized');
    expect(sse.error).toMatchObject({ code: 'unauthorized', httpStatus: 401, reason: 'revoked' });
    expect(sse.error?.message).toMatch(/401 \(revoked\)/);
    expect(sse.error?.message).not.toMatch(/stale|fresh-/);
    expect(statuses).toEqual(['reconnecting', 'unauthorized']);
    // Well past the backoff (at most 400 ms) and the stream's retry (50 ms): nobody asks again.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(server.requests.filter((r) => r.method === 'GET').map((r) => r.token)).toEqual([
      'stale',
      'fresh-1',
      'fresh-2',
    ]);
    expect(issued).toBe(2);
  });

  it("finds a 401 a browser's EventSource does not report with a HEAD of the stream URL, and stops after 3 with its reason", async () => {
    server.authReason = 'expired';
    let issued = 0;
    client = createSseClient(server.url, {
      token: 'stale',
      getToken: async () => `fresh-${++issued}`,
      EventSource: SilentStatusEventSource,
      backoff: { initialMs: 100, maxMs: 400, jitter: 0 },
      onStatus: (status) => void statuses.push(status),
      onError: (error) => void errors.push(error),
    });
    const sse = client;
    await until(() => sse.status === 'unauthorized', 'unauthorized');
    expect(errors[0]).toMatchObject({ code: 'connection', httpStatus: undefined });
    expect(sse.error).toMatchObject({ code: 'unauthorized', httpStatus: 401, reason: 'expired' });
    expect(server.requests.map((r) => `${r.method} ${r.token}`)).toEqual([
      'GET stale',
      'HEAD stale',
      'GET fresh-1',
      'HEAD fresh-1',
      'GET fresh-2',
      'HEAD fresh-2',
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(server.requests).toHaveLength(6);
  });

  it("stops with unauthorized after 3 ticket requests refused (401), with the server's reason; a ticket's own 401 does not count", async () => {
    server.authReason = 'expired';
    let token = 'expired-token';
    const sse = connect({
      getTicket: ({ topics }: { topics: readonly string[] }) => fetchSseTicket(server.url, token, { topics }),
    } as never);
    await until(() => sse.status === 'unauthorized', 'unauthorized');
    expect(sse.error).toMatchObject({ code: 'unauthorized', reason: 'expired' });
    expect(errors.map((e) => [e.code, e.reason])).toEqual([
      ['token', 'expired'],
      ['token', 'expired'],
      ['unauthorized', 'expired'],
    ]);
    expect(server.requests.map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);

    // With a good token, streams refused for their tickets (401 'ticket') are retried with new ones.
    client?.close();
    server.validTokens.add('good');
    server.spoilTickets = 2;
    token = 'good';
    const ticketed = connect({ getTicket: () => fetchSseTicket(server.url, token), maxAuthFailures: 1 } as never);
    await until(() => ticketed.status === 'open', 'open');
    // Each refused stream is probed with its spent ticket: 401 `ticket`, which does not count.
    expect(server.requests.slice(3).map((r) => r.method)).toEqual([
      'POST',
      'GET',
      'HEAD',
      'POST',
      'GET',
      'HEAD',
      'POST',
      'GET',
    ]);
  });

  it('stops on a 403 for a refused topic: one request, status error, reason forbidden', async () => {
    server.validTokens.add('t');
    server.forbiddenTopics.add('orders/9');
    let asked = 0;
    const sse = connect({ token: 't', getToken: async () => `t${++asked}`, topics: ['orders/1', 'orders/9'] });
    await until(() => sse.status === 'error', 'error');
    expect(sse.statusReason).toBe('forbidden');
    expect(errors.map((e) => [e.code, e.httpStatus])).toEqual([['connection', 403]]);
    // Well past the backoff (100 ms) and the stream's retry (50 ms): nobody asks again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.requests).toHaveLength(1);
    expect(asked).toBe(0);
    expect(reasons).toEqual(['forbidden']);
  });
});
