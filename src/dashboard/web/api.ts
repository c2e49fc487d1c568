/** The demo's HTTP API as the dashboard uses it: dev tokens, orders, announcements. */

export interface DemoSession {
  userId: string;
  admin: boolean;
  /** Lifetime of each dev token in seconds (page URL `?ttl=`); the server's default when unset. */
  ttlSec?: number;
  /** Whether the tab shares one stream with the other tabs of this user (page URL `?share=0`: not). */
  share?: boolean;
}

/**
 * Tabs share a stream only with tabs of the same session: the leader connects with its
 * own token, so a tab signed in as someone else (or without the admin role) must not share it.
 */
export function shareKeyOf(session: DemoSession): string {
  return `${session.userId}${session.admin ? ':admin' : ''}`;
}

/** The order as the API returns it: the server's own type (type-only, so nothing is bundled). */
import type { Order } from '../../orders/order.js';

export type { Order };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A token is reused for API calls until this close to its `exp`. */
const EXPIRY_MARGIN_MS = 1_000;

/**
 * Holds the session's current dev token. `freshToken()` always signs a new one (for
 * each stream ticket: `getTicket`); `request()` reuses the current one and renews it on expiry or 401.
 */
export class DemoApi {
  private current: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private issued = 0;

  constructor(
    readonly session: DemoSession,
    private readonly onTokenIssued: (count: number) => void = () => {},
  ) {}

  /** A new token from `POST /api/dev/token` (concurrent callers share one request). */
  freshToken(): Promise<string> {
    this.pending ??= this.issue().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The current token while it is valid, else a fresh one. */
  async token(): Promise<string> {
    if (this.pending) return this.pending;
    if (this.current && this.current.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return this.current.token;
    return this.freshToken();
  }

  listOrders(): Promise<Order[]> {
    return this.request<Order[]>('GET', '/api/orders');
  }

  placeOrder(item: string, quantity: number): Promise<Order> {
    return this.request<Order>('POST', '/api/orders', { item, quantity });
  }

  announce(message: string): Promise<void> {
    return this.request<void>('POST', '/api/announcements', { message });
  }

  private async issue(): Promise<string> {
    const { userId, admin, ttlSec } = this.session;
    const body = { userId, roles: admin ? ['admin'] : [], ...(ttlSec ? { expiresInSec: ttlSec } : {}) };
    const { token } = await send<{ token: string }>('POST', '/api/dev/token', body);
    this.current = { token, expiresAt: expiryOf(token) };
    this.issued += 1;
    this.onTokenIssued(this.issued);
    return token;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await send<T>(method, path, body, await this.token());
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      return send<T>(method, path, body, await this.freshToken());
    }
  }
}

async function send<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json: unknown = text === '' ? undefined : safeJson(text);
  if (!res.ok) {
    const message = (json as { message?: unknown } | undefined)?.message;
    const detail = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : res.statusText;
    throw new ApiError(res.status, `${method} ${path}: ${res.status} ${detail}`);
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The token's `exp` in ms (the page only reads it to know when to renew; the server verifies). */
function expiryOf(token: string): number {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
