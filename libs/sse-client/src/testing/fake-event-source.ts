import type { SseEventSourceLike } from '../sse-client.types.js';

type Listener = (event: Event) => void;

/**
 * A controlled EventSource for tests: records every instance and lets the test play
 * the browser's part (open, events with ids, auto-reconnect, giving up).
 * Like the real one, it dispatches nothing after `close()`.
 */
export class FakeEventSource implements SseEventSourceLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];

  static reset(): void {
    FakeEventSource.instances = [];
  }

  static get latest(): FakeEventSource {
    const last = FakeEventSource.instances.at(-1);
    if (!last) throw new Error('no FakeEventSource was created');
    return last;
  }

  readonly url: string;
  readonly withCredentials: boolean;
  readyState = FakeEventSource.CONNECTING;
  closedByClient = false;
  private lastId = '';
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(url: string, init?: { withCredentials?: boolean }) {
    this.url = url;
    this.withCredentials = init?.withCredentials ?? false;
    FakeEventSource.instances.push(this);
  }

  /** A query parameter of the URL this instance was opened with. */
  param(name: string): string | null {
    return new URL(this.url, 'http://localhost').searchParams.get(name);
  }

  addEventListener(type: string, listener: Listener): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }

  listenerCount(type?: string): number {
    if (type !== undefined) return this.listeners.get(type)?.size ?? 0;
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  close(): void {
    this.readyState = FakeEventSource.CLOSED;
    this.closedByClient = true;
  }

  // --- the browser's part ---

  open(): void {
    this.readyState = FakeEventSource.OPEN;
    this.dispatch('open', { type: 'open' });
  }

  /** An event whose data is JSON-encoded, as the server sends every event. */
  emit(type: string, data: unknown, id?: string): void {
    this.emitRaw(type, JSON.stringify(data), id);
  }

  emitRaw(type: string, data: string, id?: string): void {
    if (id !== undefined) this.lastId = id;
    this.dispatch(type, { type, data, lastEventId: this.lastId });
  }

  /** The connection dropped and the browser reconnects by itself (readyState CONNECTING). */
  drop(): void {
    this.readyState = FakeEventSource.CONNECTING;
    this.dispatch('error', { type: 'error' });
  }

  /** The EventSource gave up (non-200 answer, ...): readyState CLOSED, then `error`. */
  fail(code?: number): void {
    this.readyState = FakeEventSource.CLOSED;
    this.dispatch('error', code === undefined ? { type: 'error' } : { type: 'error', code });
  }

  private dispatch(type: string, event: Record<string, unknown>): void {
    if (this.closedByClient) return;
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener(event as unknown as Event);
  }
}
