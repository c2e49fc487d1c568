import http from 'node:http';

import { EventSource } from 'eventsource';

import { ConditionWaiter } from './condition-waiter.js';

export interface ReceivedEvent {
  type: string;
  data: unknown;
  rawData: string;
  lastEventId: string;
}

const DEFAULT_TYPES = ['message', 'notification', 'update', 'heartbeat', 'reset', 'auth-expired'];

/** A real SSE client (the `eventsource` package) that records what it parsed. */
export class StreamClient {
  readonly events: ReceivedEvent[] = [];
  readonly errors: unknown[] = [];
  opens = 0;
  private readonly source: EventSource;
  private readonly changes = new ConditionWaiter();

  constructor(url: string, types: string[] = [], headers: Record<string, string> = {}) {
    this.source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
    });
    this.source.onopen = () => {
      this.opens++;
      this.notify();
    };
    this.source.onerror = (err) => {
      this.errors.push(err);
      this.notify();
    };
    for (const type of new Set([...DEFAULT_TYPES, ...types])) {
      this.source.addEventListener(type, (e) => {
        const event = e as MessageEvent<string>;
        let data: unknown = event.data;
        try {
          data = JSON.parse(event.data);
        } catch {
          /* keep the raw string */
        }
        this.events.push({ type, data, rawData: event.data, lastEventId: event.lastEventId });
        this.notify();
      });
    }
  }

  get readyState(): number {
    return this.source.readyState;
  }

  ofType(type: string): ReceivedEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** Resolves once `predicate` holds, re-checked on every event, open and error. */
  until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    return this.changes.until(predicate, timeoutMs, what);
  }

  opened(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.opens > 0, timeoutMs, 'the stream to open');
  }

  close(): void {
    this.source.close();
  }

  private notify(): void {
    this.changes.notify();
  }
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** True if the server ended the response (rather than us giving up). */
  ended: boolean;
}

/**
 * A plain HTTP GET that collects the body for up to `collectMs` (streams never
 * end by themselves), then destroys the socket.
 */
export function rawGet(url: string, headers: Record<string, string> = {}, collectMs = 300): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      let ended = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      const finish = () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ended });
      };
      res.on('end', () => {
        ended = true;
        finish();
      });
      res.on('error', () => finish());
      const timer = setTimeout(finish, collectMs);
    });
    req.on('error', reject);
  });
}

/** A HEAD request: its status and content type, once the (bodiless) response has ended. */
export function rawHead(url: string): Promise<{ status: number; type?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'HEAD', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a stream and keeps it open; resolves once the status line and headers arrived. */
export function openRaw(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  response: http.IncomingMessage;
  body: () => string;
  ended: Promise<void>;
  destroy: () => void;
}> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
      });
      resolve({ status: res.statusCode ?? 0, response: res, body: () => body, ended, destroy: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

export async function postJson(url: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls a counter (connection counts settle a tick after sockets close). */
export async function waitForCount(read: () => number, expected: number, atLeast?: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (atLeast !== undefined ? read() < atLeast : read() !== expected) {
    if (Date.now() > deadline) throw new Error(`count is ${read()}, expected ${atLeast ?? expected}`);
    await sleep(10);
  }
}
