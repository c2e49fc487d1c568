import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { SSE_EVENT_TYPES, SSE_LIMITS } from '@nest-sse/protocol';

import { SseClientError } from './sse-client.errors.js';
import { createSseClient, HEALTHY_AFTER_MS, SseClient } from './sse-client.js';
import type {
  SseClientOptions,
  SseEventSourceConstructor,
  SseGetTicket,
  SseServerEvents,
  SseStatus,
  SseStatusReason,
} from './sse-client.types.js';
import { fetchSseTicket, type SseTicketFetch } from './stream-ticket.js';
import { FakeEventSource } from './testing/fake-event-source.js';

// Both the DOM's EventSource and the `eventsource` package's must fit the injectable type.
const domEventSource: SseEventSourceConstructor | undefined = (globalThis as { EventSource?: typeof EventSource })
  .EventSource;
void domEventSource;

// The client's event type names are the server's wire rules (checked by tsc).
type WireEventType = (typeof SSE_EVENT_TYPES)[keyof typeof SSE_EVENT_TYPES];
const serverEventsAreTheWireTypes: [keyof SseServerEvents] extends [WireEventType]
  ? [WireEventType] extends [keyof SseServerEvents]
    ? true
    : false
  : false = true;
void serverEventsAreTheWireTypes;

interface TestEvents {
  notification: { text: string };
  update: { n: number };
  message: unknown;
}

const NO_JITTER = { initialMs: 1000, maxMs: 8000, factor: 2, jitter: 0 };

interface Harness {
  client: SseClient<TestEvents>;
  statuses: SseStatus[];
  /** The reason of each change in `statuses`, at the same index. */
  reasons: SseStatusReason[];
  errors: SseClientError[];
}

function start(options: SseClientOptions<TestEvents> = {}): Harness {
  const statuses: SseStatus[] = [];
  const reasons: SseStatusReason[] = [];
  const errors: SseClientError[] = [];
  const client = createSseClient('/api/events', {
    token: 'tok-1',
    backoff: NO_JITTER,
    EventSource: FakeEventSource,
    ...options,
    onStatus: (status, previous, reason) => {
      statuses.push(status);
      reasons.push(reason);
      options.onStatus?.(status, previous, reason);
    },
    onError: (error) => {
      errors.push(error);
      options.onError?.(error);
    },
  });
  return { client, statuses, reasons, errors };
}

/** The number of EventSources created so far. */
const created = (): number => FakeEventSource.instances.length;

beforeEach(() => {
  FakeEventSource.reset();
  jest.useFakeTimers();
});

afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

describe('SseClient: connecting and events', () => {
  it('goes connecting -> open with the token in the URL', () => {
    const { client, statuses, reasons } = start({ withCredentials: true });
    expect(client.status).toBe('connecting');
    expect(client.statusReason).toBeUndefined();
    expect(created()).toBe(1);
    const source = FakeEventSource.latest;
    expect(source.url).toBe('/api/events?token=tok-1');
    expect(source.withCredentials).toBe(true);

    source.open();
    expect(client.status).toBe('open');
    expect(statuses).toEqual(['open']);
    expect(reasons).toEqual(['opened']);
    expect(client.statusReason).toBe('opened');
  });

  it('passes an initial lastEventId and keeps the URL query', () => {
    createSseClient('/api/events?topic=a', { token: 't', lastEventId: 'u:5', EventSource: FakeEventSource });
    expect(FakeEventSource.latest.param('topic')).toBe('a');
    expect(FakeEventSource.latest.param('token')).toBe('t');
    expect(FakeEventSource.latest.param('lastEventId')).toBe('u:5');
  });

  it('connects without a token when none is given (cookie auth)', () => {
    const client = createSseClient(new URL('https://x.test/api/events'), { EventSource: FakeEventSource });
    expect(FakeEventSource.latest.url).toBe('https://x.test/api/events');
    expect(client.url).toBe('https://x.test/api/events');
  });

  it('JSON-decodes data for typed handlers and tracks lastEventId', () => {
    const onNotification = jest.fn();
    const onUpdate = jest.fn();
    const onMessage = jest.fn();
    const onLastEventId = jest.fn();
    const { client } = start({
      handlers: { notification: onNotification, update: onUpdate, message: onMessage },
      onLastEventId,
    });
    const source = FakeEventSource.latest;
    source.open();

    source.emit('notification', { text: 'hi' }, 'u:1');
    source.emit('update', { n: 2 }, 'u:2');
    source.emit('message', [1, 2]);

    expect(onNotification).toHaveBeenCalledTimes(1);
    expect(onNotification.mock.calls[0]?.[0]).toEqual({ text: 'hi' });
    expect((onNotification.mock.calls[0]?.[1] as MessageEvent).data).toBe('{"text":"hi"}');
    expect(onUpdate).toHaveBeenCalledWith({ n: 2 }, expect.objectContaining({ lastEventId: 'u:2' }));
    expect(onMessage).toHaveBeenCalledWith([1, 2], expect.anything());
    expect(client.lastEventId).toBe('u:2');
    expect(onLastEventId.mock.calls).toEqual([['u:1'], ['u:2']]);
  });

  it('listens to every event type of the wire rules, handled or not', () => {
    start();
    for (const type of Object.values(SSE_EVENT_TYPES)) {
      expect([type, FakeEventSource.latest.listenerCount(type)]).toEqual([type, 1]);
    }
  });

  it('tracks ids of events it has no handler for', () => {
    const { client } = start();
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('update', { n: 1 }, 'u:9');
    expect(client.lastEventId).toBe('u:9');
  });

  it("does not show a shared stream's opening (connected) or a heartbeat as the last event, yet resumes from it", async () => {
    const seen: string[] = [];
    const { client } = start({ lastEventId: 'u:1', onLastEventId: (id) => void seen.push(id) });
    FakeEventSource.latest.open();
    // Where the stream stands: on a fresh stream, the newest id of the server (someone else's event).
    FakeEventSource.latest.emit('connected', null, 'u:7');
    FakeEventSource.latest.emit('heartbeat', null, 'u:7');
    expect(client.lastEventId).toBe('u:1');
    expect(seen).toEqual([]);
    FakeEventSource.latest.fail(503);
    await jest.advanceTimersByTimeAsync(1000);
    expect(FakeEventSource.latest.param('lastEventId')).toBe('u:7');
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('update', { n: 1 }, 'u:8');
    expect(client.lastEventId).toBe('u:8');
    expect(seen).toEqual(['u:8']);
  });

  it("reports every move of the stream's position to onPosition, a shared stream's opening and heartbeats included, once per id", () => {
    const positions: string[] = [];
    const { client } = start({ lastEventId: 'u:1', onPosition: (id) => void positions.push(id) });
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('connected', null, 'u:7');
    FakeEventSource.latest.emit('heartbeat', null, 'u:7');
    FakeEventSource.latest.emit('update', { n: 1 }, 'u:8');
    expect(positions).toEqual(['u:7', 'u:8']);
    expect(client.lastEventId).toBe('u:8');
  });

  it('reports a JSON parse error with the event type and keeps the stream', () => {
    const onNotification = jest.fn();
    const { client, errors } = start({ handlers: { notification: onNotification } });
    const source = FakeEventSource.latest;
    source.open();

    expect(() => source.emitRaw('notification', '{not json', 'u:1')).not.toThrow();
    expect(onNotification).not.toHaveBeenCalled();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SseClientError);
    expect(errors[0]?.code).toBe('parse');
    expect(errors[0]?.eventType).toBe('notification');
    expect(errors[0]?.message).toMatch(/"notification" event/);
    expect(client.error).toBe(errors[0]);

    source.emit('notification', { text: 'next' }, 'u:2');
    expect(onNotification).toHaveBeenCalledWith({ text: 'next' }, expect.anything());
    expect(client.status).toBe('open');
    expect(source.closedByClient).toBe(false);
    expect(client.lastEventId).toBe('u:2');
  });

  it('does not decode (nor report) events nobody handles, but still tracks their id', () => {
    const { client, errors } = start();
    FakeEventSource.latest.open();
    FakeEventSource.latest.emitRaw('notification', 'not json', 'u:3');
    expect(errors).toEqual([]);
    expect(client.lastEventId).toBe('u:3');
  });

  it('reports a throwing handler and still calls the others', () => {
    const second = jest.fn();
    const { client, errors } = start({
      handlers: {
        update: () => {
          throw new Error('boom');
        },
      },
    });
    client.on('update', second);
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('update', { n: 1 });
    expect(second).toHaveBeenCalledWith({ n: 1 }, expect.anything());
    expect(errors.map((e) => [e.code, e.eventType])).toEqual([['handler', 'update']]);
    expect((errors[0]?.cause as Error).message).toBe('boom');
    expect(client.status).toBe('open');
  });

  it('on() subscribes after construction, across EventSources, and unsubscribes', async () => {
    const { client } = start({ getToken: async () => 'tok-2' });
    const handler = jest.fn();
    const off = client.on('custom', handler);
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('custom', 1);
    expect(handler).toHaveBeenCalledTimes(1);

    FakeEventSource.latest.fail();
    await jest.advanceTimersByTimeAsync(1000);
    expect(created()).toBe(2);
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('custom', 2);
    expect(handler).toHaveBeenLastCalledWith(2, expect.anything());

    off();
    FakeEventSource.latest.emit('custom', 3);
    expect(handler).toHaveBeenCalledTimes(2);
  });

  it('refuses the EventSource own event names as handler types', () => {
    const { client } = start();
    expect(() => client.on('error', () => {})).toThrow(TypeError);
    expect(() => client.on('open', () => {})).toThrow(TypeError);
  });

  it('throws an unsupported error without any EventSource implementation', () => {
    expect(() => new SseClient('/api/events')).toThrow(
      expect.objectContaining({ name: 'SseClientError', code: 'unsupported' }),
    );
  });

  it('gives up when the EventSource constructor refuses the URL', () => {
    class Refusing {
      constructor() {
        throw new SyntaxError('bad url');
      }
    }
    const { client, errors, reasons } = start({ EventSource: Refusing as unknown as SseEventSourceConstructor });
    expect(client.status).toBe('error');
    expect(reasons).toEqual(['url-refused']);
    expect(errors[0]?.code).toBe('connection');
    jest.advanceTimersByTime(60_000);
    expect(client.status).toBe('error');
  });
});

describe('SseClient: the browser reconnecting by itself', () => {
  it('goes open -> reconnecting -> open on the same EventSource, reporting no error', () => {
    const { client, statuses, reasons, errors } = start();
    const source = FakeEventSource.latest;
    source.open();
    source.emit('update', { n: 1 }, 'u:1');

    source.drop();
    expect(client.status).toBe('reconnecting');
    source.open();
    expect(client.status).toBe('open');

    jest.advanceTimersByTime(60_000);
    expect(created()).toBe(1);
    expect(source.closedByClient).toBe(false);
    expect(statuses).toEqual(['open', 'reconnecting', 'open']);
    expect(reasons).toEqual(['opened', 'dropped', 'opened']);
    expect(errors).toEqual([]);
    expect(client.lastEventId).toBe('u:1');
  });

  it('is reconnecting while the first connection is retried', () => {
    const { client } = start();
    FakeEventSource.latest.drop();
    expect(client.status).toBe('reconnecting');
  });
});

describe('SseClient: recovering when the EventSource gives up', () => {
  it('waits the backoff, asks getToken, and resumes from lastEventId with the fresh token', async () => {
    const getToken = jest.fn(async () => 'tok-2');
    const { client, statuses, reasons, errors } = start({ getToken, withCredentials: true });
    const first = FakeEventSource.latest;
    first.open();
    first.emit('notification', { text: 'a' }, 'u:41');
    first.emit('notification', { text: 'b' }, 'u:42');

    first.fail(401);
    expect(client.status).toBe('reconnecting');
    expect(first.closedByClient).toBe(true);
    expect(errors.map((e) => [e.code, e.httpStatus])).toEqual([['connection', 401]]);
    expect(client.error?.code).toBe('connection');

    await jest.advanceTimersByTimeAsync(999);
    expect(getToken).not.toHaveBeenCalled();
    expect(created()).toBe(1);

    await jest.advanceTimersByTimeAsync(1);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(created()).toBe(2);
    const second = FakeEventSource.latest;
    expect(second.param('token')).toBe('tok-2');
    expect(second.param('lastEventId')).toBe('u:42');
    expect(second.withCredentials).toBe(true);
    expect(client.status).toBe('reconnecting');

    second.open();
    expect(client.status).toBe('open');
    expect(client.error).toBeUndefined();
    expect(statuses).toEqual(['open', 'reconnecting', 'open']);
    expect(reasons).toEqual(['opened', 'refused', 'opened']);
  });

  it('reuses the token when there is no getToken', async () => {
    start();
    FakeEventSource.latest.fail(503);
    await jest.advanceTimersByTimeAsync(1000);
    expect(created()).toBe(2);
    expect(FakeEventSource.latest.param('token')).toBe('tok-1');
    expect(FakeEventSource.latest.param('lastEventId')).toBeNull();
  });

  it('ignores late events from a replaced EventSource', async () => {
    const onUpdate = jest.fn();
    const { client } = start({ handlers: { update: onUpdate } });
    const first = FakeEventSource.latest;
    first.open();
    first.fail();
    first.closedByClient = false; // misbehaving implementation that still dispatches
    first.emit('update', { n: 1 }, 'stale');
    first.open();
    expect(onUpdate).not.toHaveBeenCalled();
    expect(client.status).toBe('reconnecting');
    expect(first.listenerCount()).toBe(0);
  });

  it('grows the delay on consecutive failures, caps it, and never loops hot', async () => {
    const getToken = jest.fn(async () => 'tok');
    start({ getToken });
    const delays: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      const before = created();
      FakeEventSource.latest.fail(429);
      let waited = 0;
      while (created() === before) {
        await jest.advanceTimersByTimeAsync(100);
        waited += 100;
        if (waited > 60_000) throw new Error('no recovery within a minute');
      }
      delays.push(waited);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 8000]);
    expect(getToken).toHaveBeenCalledTimes(7);
  });

  it('opens at most a bounded number of EventSources when every one fails at once', async () => {
    start({ backoff: { initialMs: 0, maxMs: 0, factor: 1, jitter: 0 } }); // clamped to 100 ms
    let failing = FakeEventSource.latest;
    failing.fail();
    for (let t = 0; t < 10_000; t += 10) {
      await jest.advanceTimersByTimeAsync(10);
      if (FakeEventSource.latest !== failing) {
        failing = FakeEventSource.latest;
        failing.fail();
      }
    }
    // 10 s at >= 100 ms per recovery: at most 100 new EventSources.
    expect(created()).toBeGreaterThan(50);
    expect(created()).toBeLessThanOrEqual(101);
  });

  it('applies jitter within [initialMs, cap]', async () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      start({ backoff: { initialMs: 1000, maxMs: 8000, factor: 2, jitter: 1 } });
      FakeEventSource.latest.fail();
      await jest.advanceTimersByTimeAsync(1000);
      expect(created()).toBe(2);
      random.mockReturnValue(0.999);
      FakeEventSource.latest.fail(); // attempt 1: [1000, 2000]
      await jest.advanceTimersByTimeAsync(1990);
      expect(created()).toBe(2);
      await jest.advanceTimersByTimeAsync(10);
      expect(created()).toBe(3);
    } finally {
      random.mockRestore();
    }
  });

  it('resets the backoff after a connection that received an event, not after a bare open', async () => {
    start();
    const failAndMeasure = async (): Promise<number> => {
      const before = created();
      FakeEventSource.latest.fail();
      let waited = 0;
      while (created() === before) {
        await jest.advanceTimersByTimeAsync(100);
        waited += 100;
      }
      return waited;
    };
    expect(await failAndMeasure()).toBe(1000);
    FakeEventSource.latest.open(); // open, nothing received, fails quickly
    expect(await failAndMeasure()).toBe(2000);
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('heartbeat', null);
    expect(await failAndMeasure()).toBe(1000);
    expect(await failAndMeasure()).toBe(2000);
    FakeEventSource.latest.open();
    await jest.advanceTimersByTimeAsync(HEALTHY_AFTER_MS); // quiet but long-lived
    expect(await failAndMeasure()).toBe(1000);
  });

  it('gives up after maxRecoveries consecutive recoveries', async () => {
    const { client, statuses, errors } = start({ maxRecoveries: 2 });
    FakeEventSource.latest.fail(503);
    await jest.advanceTimersByTimeAsync(1000);
    FakeEventSource.latest.fail(503);
    await jest.advanceTimersByTimeAsync(2000);
    expect(created()).toBe(3);
    FakeEventSource.latest.fail(503);

    expect(client.status).toBe('error');
    expect(statuses.at(-1)).toBe('error');
    expect(client.statusReason).toBe('gave-up');
    const last = errors.at(-1);
    expect(last?.code).toBe('gave-up');
    expect((last?.cause as SseClientError).httpStatus).toBe(503);
    expect(FakeEventSource.latest.closedByClient).toBe(true);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(created()).toBe(3);
  });

  it('stops with status unauthorized after maxAuthFailures (3) consecutive 401s, each with a fresh token, and opens nothing more', async () => {
    let issued = 0;
    const getToken = jest.fn(async () => `fresh-${++issued}`);
    const { client, statuses, reasons, errors } = start({ getToken });
    FakeEventSource.latest.open();
    for (let failure = 1; failure <= 3; failure += 1) {
      FakeEventSource.latest.fail(401);
      await jest.advanceTimersByTimeAsync(8000);
    }
    expect(FakeEventSource.instances.map((source) => source.param('token'))).toEqual(['tok-1', 'fresh-1', 'fresh-2']);
    expect([client.status, client.statusReason]).toEqual(['unauthorized', 'unauthorized']);
    expect(statuses).toEqual(['open', 'reconnecting', 'unauthorized']);
    expect(reasons.at(-1)).toBe('unauthorized');
    expect(client.error).toMatchObject({ code: 'unauthorized', httpStatus: 401 });
    expect(errors.at(-1)?.code).toBe('unauthorized');
    expect(errors.at(-1)?.message).not.toMatch(/fresh-|tok-1/);
    expect(FakeEventSource.latest.closedByClient).toBe(true);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(created()).toBe(3);
    expect(getToken).toHaveBeenCalledTimes(2);
  });

  it('counts 401s only in a row: a connection that opens starts the count again', async () => {
    const { client } = start({ getToken: async () => 'fresh', maxAuthFailures: 2 });
    FakeEventSource.latest.fail(401);
    await jest.advanceTimersByTimeAsync(8000);
    FakeEventSource.latest.open();
    FakeEventSource.latest.fail(401);
    await jest.advanceTimersByTimeAsync(8000);
    expect(client.status).toBe('reconnecting');
    FakeEventSource.latest.fail(401);
    await jest.advanceTimersByTimeAsync(0);
    expect(client.status).toBe('unauthorized');
    // Other refusals are not the credential's: they neither count nor stop it.
    const other = start({ maxAuthFailures: 1 });
    FakeEventSource.latest.fail(503);
    expect(other.client.status).toBe('reconnecting');
  });

  it('takes maxAuthFailures of at least 1 (Infinity: 401s are retried like any refusal)', async () => {
    expect(() => start({ maxAuthFailures: 0 })).toThrow(RangeError);
    expect(() => start({ maxAuthFailures: Number.NaN })).toThrow(RangeError);
    const { client } = start({ maxAuthFailures: Number.POSITIVE_INFINITY });
    for (let failure = 1; failure <= 10; failure += 1) {
      FakeEventSource.latest.fail(401);
      await jest.advanceTimersByTimeAsync(8000);
    }
    expect(client.status).toBe('reconnecting');
  });

  it('retries a failing getToken with backoff, reporting each failure', async () => {
    const getToken = jest
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new Error('offline'))
      .mockResolvedValueOnce('tok-3');
    const { client, errors } = start({ getToken });
    FakeEventSource.latest.fail();
    await jest.advanceTimersByTimeAsync(1000);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(created()).toBe(1);
    expect(errors.at(-1)?.code).toBe('token');
    expect(errors.at(-1)?.message).toMatch(/offline/);
    expect(client.status).toBe('reconnecting');

    await jest.advanceTimersByTimeAsync(1999);
    expect(getToken).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(created()).toBe(2);
    expect(FakeEventSource.latest.param('token')).toBe('tok-3');
  });

  it('stops with status error when getToken says there is no session (null)', async () => {
    const { client, errors } = start({ getToken: async () => null });
    FakeEventSource.latest.fail(401);
    await jest.advanceTimersByTimeAsync(1000);
    expect(client.status).toBe('error');
    expect(client.statusReason).toBe('no-session');
    expect(errors.at(-1)?.code).toBe('token');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(created()).toBe(1);
  });

  it('treats a non-string token as a failed attempt', async () => {
    const { client, errors } = start({ getToken: (() => 42) as unknown as () => string });
    FakeEventSource.latest.fail();
    await jest.advanceTimersByTimeAsync(1000);
    expect(errors.at(-1)?.code).toBe('token');
    expect(client.status).toBe('reconnecting');
    expect(created()).toBe(1);
  });

  it('gets the first token from getToken when no token is given', async () => {
    const getToken = jest.fn(async () => 'first');
    const { client } = start({ token: undefined, getToken });
    expect(client.status).toBe('connecting');
    expect(created()).toBe(0);
    await jest.advanceTimersByTimeAsync(0);
    expect(created()).toBe(1);
    expect(FakeEventSource.latest.param('token')).toBe('first');
  });
});

describe('SseClient: server control events', () => {
  it('on auth-expired closes the stream at once and reconnects with a fresh token and lastEventId', async () => {
    const tokens = ['tok-2'];
    const getToken = jest.fn(async () => tokens.shift() ?? 'none');
    const onAuthExpired = jest.fn();
    const { client, errors } = start({ getToken, onAuthExpired });
    const first = FakeEventSource.latest;
    first.open();
    first.emit('notification', { text: 'a' }, 'u:7');
    jest.advanceTimersByTime(HEALTHY_AFTER_MS);

    first.emit('auth-expired', { reason: 'token expired' }, 'u:7');
    expect(first.closedByClient).toBe(true);
    expect(client.status).toBe('reconnecting');
    expect(client.statusReason).toBe('auth-expired');
    expect(onAuthExpired).toHaveBeenCalledWith({ reason: 'token expired' }, expect.anything());
    expect(errors).toEqual([]);

    await jest.advanceTimersByTimeAsync(1000);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(created()).toBe(2);
    expect(FakeEventSource.latest.param('token')).toBe('tok-2');
    expect(FakeEventSource.latest.param('lastEventId')).toBe('u:7');
  });

  it('does not wait out a grown backoff after auth-expired on a healthy stream', async () => {
    start({ getToken: async () => 'fresh' });
    for (let i = 0; i < 3; i += 1) {
      FakeEventSource.latest.fail();
      await jest.advanceTimersByTimeAsync(8000);
    }
    expect(created()).toBe(4);
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('update', { n: 1 }, 'u:1');
    FakeEventSource.latest.emit('auth-expired', { reason: 'expired' }, 'u:1');
    await jest.advanceTimersByTimeAsync(1000);
    expect(created()).toBe(5);
  });

  it('backs off when auth-expired arrives right after every open (no hot loop)', async () => {
    start({ getToken: async () => 'already-expired' });
    const delays: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const before = created();
      FakeEventSource.latest.open();
      FakeEventSource.latest.emit('auth-expired', { reason: 'expired' });
      let waited = 0;
      while (created() === before) {
        await jest.advanceTimersByTimeAsync(100);
        waited += 100;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
  });

  it('on reset calls onReset and keeps the stream', () => {
    const onReset = jest.fn();
    const onNotification = jest.fn();
    const { client } = start({ onReset, handlers: { notification: onNotification } });
    const source = FakeEventSource.latest;
    source.open();
    source.emit('reset', { reason: 'history unavailable' }, 'u:100');
    expect(onReset).toHaveBeenCalledWith({ reason: 'history unavailable' }, expect.anything());
    expect(client.status).toBe('open');
    expect(source.closedByClient).toBe(false);
    expect(client.lastEventId).toBe('u:100');
    source.emit('notification', { text: 'live' }, 'u:101');
    expect(onNotification).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(60_000);
    expect(created()).toBe(1);
  });

  it('still handles a reset whose data is not JSON, reporting the parse error', () => {
    const onReset = jest.fn();
    const { errors } = start({ onReset });
    FakeEventSource.latest.open();
    FakeEventSource.latest.emitRaw('reset', 'oops');
    expect(onReset).toHaveBeenCalledWith({ reason: 'unknown' }, expect.anything());
    expect(errors.map((e) => e.code)).toEqual(['parse']);
  });
});

describe('SseClient: status reasons', () => {
  it('gives onStatus the previous status and the reason of each change', async () => {
    const onStatus = jest.fn<NonNullable<SseClientOptions['onStatus']>>();
    const { client } = start({ getToken: async () => 'fresh', onStatus });
    FakeEventSource.latest.open();
    FakeEventSource.latest.drop();
    FakeEventSource.latest.open();
    FakeEventSource.latest.fail(503);
    await jest.advanceTimersByTimeAsync(1000);
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('auth-expired', { reason: 'token expired' });
    await jest.advanceTimersByTimeAsync(2000);
    FakeEventSource.latest.open();
    client.close();
    expect(onStatus.mock.calls).toEqual([
      ['open', 'connecting', 'opened'],
      ['reconnecting', 'open', 'dropped'],
      ['open', 'reconnecting', 'opened'],
      ['reconnecting', 'open', 'refused'],
      ['open', 'reconnecting', 'opened'],
      ['reconnecting', 'open', 'auth-expired'],
      ['open', 'reconnecting', 'opened'],
      ['closed', 'open', 'closed'],
    ]);
  });

  it('says auth-expired when going reconnecting, before onAuthExpired runs', () => {
    const calls: string[] = [];
    start({
      onStatus: (status, _previous, reason) => calls.push(`${status}:${reason}`),
      onAuthExpired: () => calls.push('onAuthExpired'),
    });
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('auth-expired', { reason: 'token expired' });
    expect(calls).toEqual(['open:opened', 'reconnecting:auth-expired', 'onAuthExpired']);
  });

  it('says token-failed when the first getToken() rejects', async () => {
    const { client, statuses, reasons, errors } = start({
      token: undefined,
      getToken: () => Promise.reject(new Error('offline')),
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(statuses).toEqual(['reconnecting']);
    expect(reasons).toEqual(['token-failed']);
    expect(client.statusReason).toBe('token-failed');
    expect(errors.map((e) => e.code)).toEqual(['token']);
  });

  it('keeps the reason of the change while the status stays the same', () => {
    const { client, reasons } = start();
    FakeEventSource.latest.open();
    FakeEventSource.latest.drop();
    FakeEventSource.latest.fail(503); // the browser's own reconnect refused: still reconnecting
    expect(client.status).toBe('reconnecting');
    expect(reasons).toEqual(['opened', 'dropped']);
    expect(client.statusReason).toBe('dropped');
  });
});

describe('SseClient: close()', () => {
  it('closes the EventSource, stops events and is idempotent', () => {
    const onUpdate = jest.fn();
    const { client, statuses, reasons } = start({ handlers: { update: onUpdate } });
    const source = FakeEventSource.latest;
    source.open();
    client.close();
    client.close();
    expect(client.status).toBe('closed');
    expect(statuses).toEqual(['open', 'closed']);
    expect(reasons).toEqual(['opened', 'closed']);
    expect(source.closedByClient).toBe(true);
    expect(source.listenerCount()).toBe(0);
    source.closedByClient = false;
    source.emit('update', { n: 1 });
    expect(onUpdate).not.toHaveBeenCalled();
  });

  it('cancels a pending recovery', async () => {
    const getToken = jest.fn(async () => 't');
    const { client } = start({ getToken });
    FakeEventSource.latest.fail();
    client.close();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(getToken).not.toHaveBeenCalled();
    expect(created()).toBe(1);
    expect(client.status).toBe('closed');
  });

  it('opens nothing when closed while getToken is pending', async () => {
    let resolve: (token: string) => void = () => {};
    const getToken = jest.fn(() => new Promise<string>((r) => (resolve = r)));
    const { client } = start({ getToken });
    FakeEventSource.latest.fail();
    await jest.advanceTimersByTimeAsync(1000);
    expect(getToken).toHaveBeenCalledTimes(1);
    client.close();
    resolve('late');
    await jest.advanceTimersByTimeAsync(0);
    expect(created()).toBe(1);
    expect(client.status).toBe('closed');
  });

  it('can be called from a handler', () => {
    const later = jest.fn();
    const { client } = start();
    client.on('update', () => client.close());
    client.on('update', later);
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('update', { n: 1 });
    expect(client.status).toBe('closed');
    expect(later).not.toHaveBeenCalled();
  });
});

describe('SseClient: tickets (getTicket)', () => {
  /** A getTicket that hands out t-1, t-2, ... */
  const tickets = () => {
    let n = 0;
    return jest.fn(async () => `t-${++n}`);
  };
  const ticketed = (options: SseClientOptions<TestEvents> = {}) => start({ token: undefined, ...options });

  it('asks getTicket before the first connection and puts the ticket, never a token, in the URL', async () => {
    const getTicket = tickets();
    const { client } = ticketed({ getTicket, lastEventId: 'u:3' });
    expect(created()).toBe(0);
    expect(client.status).toBe('connecting');
    await jest.advanceTimersByTimeAsync(0);
    expect(getTicket).toHaveBeenCalledTimes(1);
    expect(created()).toBe(1);
    expect(FakeEventSource.latest.param('ticket')).toBe('t-1');
    expect(FakeEventSource.latest.param('token')).toBeNull();
    expect(FakeEventSource.latest.param('lastEventId')).toBe('u:3');
  });

  it('asks for a new ticket before every replacement EventSource, resuming from lastEventId', async () => {
    const getTicket = tickets();
    const { reasons } = ticketed({ getTicket });
    await jest.advanceTimersByTimeAsync(0);
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit('update', { n: 1 }, 'u:7');
    FakeEventSource.latest.fail(401);
    await jest.advanceTimersByTimeAsync(1000);
    expect(getTicket).toHaveBeenCalledTimes(2);
    expect(created()).toBe(2);
    expect(FakeEventSource.latest.param('ticket')).toBe('t-2');
    expect(FakeEventSource.latest.param('lastEventId')).toBe('u:7');
    expect(reasons).toEqual(['opened', 'refused']);
  });

  it('replaces a dropped stream itself, after the backoff and with a new ticket, so the browser never presents the spent one', async () => {
    const getTicket = tickets();
    const { client, reasons, errors } = ticketed({ getTicket });
    await jest.advanceTimersByTimeAsync(0);
    const first = FakeEventSource.latest;
    first.open();
    first.emit('update', { n: 1 }, 'u:8');

    first.drop();
    expect(first.closedByClient).toBe(true);
    expect([client.status, client.statusReason]).toEqual(['reconnecting', 'dropped']);
    await jest.advanceTimersByTimeAsync(999);
    expect(created()).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(created()).toBe(2);
    expect(FakeEventSource.latest.param('ticket')).toBe('t-2');
    expect(FakeEventSource.latest.param('lastEventId')).toBe('u:8');
    FakeEventSource.latest.open();
    expect(reasons).toEqual(['opened', 'dropped', 'opened']);
    expect(errors).toEqual([]);
  });

  it('retries a failing getTicket with backoff (token-failed), like a failed connection', async () => {
    let calls = 0;
    const getTicket = jest.fn(async () => {
      calls += 1;
      if (calls <= 2) throw new Error('ticket endpoint down');
      return 't-ok';
    });
    const { client, errors, reasons } = ticketed({ getTicket });
    await jest.advanceTimersByTimeAsync(0);
    expect([client.status, client.statusReason]).toEqual(['reconnecting', 'token-failed']);
    expect(errors.map((e) => [e.code, e.message])).toEqual([['token', 'getTicket() failed: ticket endpoint down']]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(getTicket).toHaveBeenCalledTimes(2);
    expect(created()).toBe(0);
    await jest.advanceTimersByTimeAsync(1999);
    expect(getTicket).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(getTicket).toHaveBeenCalledTimes(3);
    expect(FakeEventSource.latest.param('ticket')).toBe('t-ok');
    expect(reasons).toEqual(['token-failed']);
  });

  it('stops with no-session when getTicket resolves null, and reports an unusable value', async () => {
    const { client, reasons } = ticketed({ getTicket: async () => null });
    await jest.advanceTimersByTimeAsync(0);
    expect([client.status, client.statusReason]).toEqual(['error', 'no-session']);
    expect(client.error?.message).toMatch(/^getTicket\(\) returned null/);
    expect(reasons).toEqual(['no-session']);

    const other = ticketed({ getTicket: async () => '' });
    await jest.advanceTimersByTimeAsync(0);
    expect(other.client.statusReason).toBe('token-failed');
    expect(other.client.error?.message).toMatch(/^getTicket\(\) must resolve to a non-empty string/);
  });

  it('refuses getTicket together with token or getToken', () => {
    const getTicket = async () => 't';
    expect(() => start({ getTicket })).toThrow(TypeError);
    expect(() => start({ token: undefined, getToken: async () => 'x', getTicket })).toThrow(/not both/);
    expect(created()).toBe(0);
  });
});

describe('SseClient: topics', () => {
  const topicsOf = (source: FakeEventSource): string[] =>
    new URL(source.url, 'http://localhost').searchParams.getAll('topic');

  it('subscribes every connection, the first and each replacement, with one topic parameter each', async () => {
    const getToken = jest.fn(async () => 'tok-2');
    const { client } = start({ getToken, topics: ['orders/123', 'tenants/acme/feed', 'orders/123'] });
    expect(client.topics).toEqual(['orders/123', 'tenants/acme/feed']);
    const first = FakeEventSource.latest;
    expect(first.param('token')).toBe('tok-1');
    expect(topicsOf(first)).toEqual(['orders/123', 'tenants/acme/feed']);

    first.open();
    first.emit('update', { n: 1 }, 'u:4');
    first.fail(401);
    await jest.advanceTimersByTimeAsync(1000);
    expect(created()).toBe(2);
    const second = FakeEventSource.latest;
    expect(second.param('token')).toBe('tok-2');
    expect(topicsOf(second)).toEqual(['orders/123', 'tenants/acme/feed']);
    expect(second.param('lastEventId')).toBe('u:4');
  });

  it('sends no topic parameter without topics', () => {
    const { client } = start();
    expect(client.topics).toEqual([]);
    expect(FakeEventSource.latest.url).toBe('/api/events?token=tok-1');
  });

  it('with getTicket, gives the topics to every ticket request and keeps them out of the stream URL', async () => {
    let n = 0;
    const getTicket = jest.fn<SseGetTicket>(async () => `t-${++n}`);
    start({ token: undefined, getTicket, topics: ['orders/123', 'orders/123', 'tenants/acme/feed'] });
    await jest.advanceTimersByTimeAsync(0);
    expect(getTicket).toHaveBeenLastCalledWith({ topics: ['orders/123', 'tenants/acme/feed'] });
    expect(FakeEventSource.latest.url).toBe('/api/events?ticket=t-1');

    FakeEventSource.latest.fail(401);
    await jest.advanceTimersByTimeAsync(1000);
    expect(getTicket).toHaveBeenCalledTimes(2);
    expect(getTicket).toHaveBeenLastCalledWith({ topics: ['orders/123', 'tenants/acme/feed'] });
    expect(FakeEventSource.latest.url).toBe('/api/events?ticket=t-2');
  });

  it.each([
    ['a bad name', ['orders/1', 'orders/*'], /^Bad topics: SSE topic "orders\/\*" is not allowed/],
    ['an empty name', [''], /^Bad topics: SSE topic must be a non-empty string/],
    [
      'too many topics',
      Array.from({ length: SSE_LIMITS.topicsPerStream + 1 }, (_, i) => `t/${i}`),
      /^Bad topics: at most 20 topics per stream, got 21/,
    ],
  ])('refuses %s when created, before anything is sent', async (_, topics, message) => {
    const getToken = jest.fn(async () => 'tok');
    const getTicket = jest.fn(async () => 'tkt');
    expect(() => start({ topics, getToken })).toThrow(TypeError);
    expect(() => start({ topics, getToken })).toThrow(message);
    expect(() => start({ token: undefined, topics, getTicket })).toThrow(message);
    await jest.advanceTimersByTimeAsync(0);
    expect(created()).toBe(0);
    expect(getToken).not.toHaveBeenCalled();
    expect(getTicket).not.toHaveBeenCalled();
  });

  it('stops on a 403 the EventSource reports (a refused topic): no retry, status error, reason forbidden', async () => {
    const getToken = jest.fn(async () => 'tok-2');
    const { client, reasons, errors } = start({ getToken, topics: ['orders/9'] });
    FakeEventSource.latest.fail(403);
    expect([client.status, client.statusReason]).toEqual(['error', 'forbidden']);
    expect(reasons).toEqual(['forbidden']);
    expect(errors.map((e) => [e.code, e.httpStatus])).toEqual([['connection', 403]]);
    expect(client.error?.message).toMatch(/failed with HTTP 403/);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(created()).toBe(1);
    expect(getToken).not.toHaveBeenCalled();
  });

  it('retries a 403 the browser cannot see (no status) like any refusal: with the backoff, up to maxRecoveries', async () => {
    const { client, reasons } = start({ topics: ['orders/9'], maxRecoveries: 3 });
    const opened: number[] = [Date.now()];
    const gaveUp = (): boolean => client.status === 'error';
    while (!gaveUp()) {
      const before = created();
      FakeEventSource.latest.fail(); // the browser's EventSource: readyState CLOSED, no status
      while (created() === before && !gaveUp()) await jest.advanceTimersByTimeAsync(100);
      if (created() > before) opened.push(Date.now());
    }
    const gaps = opened.slice(1).map((at, i) => at - opened[i]);
    expect(gaps).toEqual([1000, 2000, 4000]);
    expect(created()).toBe(4);
    expect([client.status, client.statusReason]).toEqual(['error', 'gave-up']);
    expect(reasons).toEqual(['refused', 'gave-up']);
  });

  it('stops when the ticket request answers 403, asking no more tickets', async () => {
    const fetch = jest.fn<SseTicketFetch>(async () => ({
      ok: false,
      status: 403,
      json: async () => ({ statusCode: 403 }),
    }));
    const getTicket = jest.fn(({ topics }: { topics: readonly string[] }) =>
      fetchSseTicket('/api/events', 'jwt', { fetch, topics }),
    );
    const { client, reasons, errors } = start({ token: undefined, getTicket, topics: ['orders/9'] });
    await jest.advanceTimersByTimeAsync(0);
    expect(new URL(fetch.mock.calls[0][0], 'http://h').searchParams.getAll('topic')).toEqual(['orders/9']);
    expect([client.status, client.statusReason]).toEqual(['error', 'forbidden']);
    expect(reasons).toEqual(['forbidden']);
    expect(errors.map((e) => [e.code, e.httpStatus])).toEqual([['token', 403]]);
    expect(client.error?.message).toMatch(/^getTicket\(\) failed: .*answered HTTP 403/);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(getTicket).toHaveBeenCalledTimes(1);
    expect(created()).toBe(0);
  });

  it("stops with unauthorized after three ticket requests answered 401, naming the server's reason, and asks no more", async () => {
    const fetch = jest.fn<SseTicketFetch>(async () => ({
      ok: false,
      status: 401,
      json: async () => ({ statusCode: 401, message: 'Token revoked', reason: 'revoked' }),
    }));
    const getTicket = jest.fn(() => fetchSseTicket('/api/events', 'jwt', { fetch }));
    const { client, errors } = start({ token: undefined, getTicket });
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersByTimeAsync(8000);
    await jest.advanceTimersByTimeAsync(8000);
    expect([client.status, client.statusReason]).toEqual(['unauthorized', 'unauthorized']);
    expect(client.error).toMatchObject({ code: 'unauthorized', reason: 'revoked', httpStatus: 401 });
    expect(errors.map((e) => e.code)).toEqual(['token', 'token', 'unauthorized']);
    expect(errors[0]).toMatchObject({ reason: 'revoked' });
    await jest.advanceTimersByTimeAsync(120_000);
    expect(getTicket).toHaveBeenCalledTimes(3);
    expect(created()).toBe(0);
  });

  it("does not count a ticket's own 401 (spent or dropped) against the credential: a ticket obtained starts the count again", async () => {
    let n = 0;
    const getTicket = jest.fn(async () => `t-${++n}`);
    const { client } = start({ token: undefined, getTicket, maxAuthFailures: 1 });
    for (let failure = 1; failure <= 3; failure += 1) {
      await jest.advanceTimersByTimeAsync(8000);
      FakeEventSource.latest.fail(401);
    }
    expect(client.status).toBe('reconnecting');
  });

  it('still retries a ticket request answered with another status (401), keeping its status in the error', async () => {
    const fetch = jest.fn<SseTicketFetch>(async () => ({ ok: false, status: 401, json: async () => ({}) }));
    const getTicket = jest.fn(() => fetchSseTicket('/api/events', 'jwt', { fetch }));
    const { client, errors } = start({ token: undefined, getTicket });
    await jest.advanceTimersByTimeAsync(0);
    expect([client.status, client.statusReason]).toEqual(['reconnecting', 'token-failed']);
    expect(errors.map((e) => [e.code, e.httpStatus])).toEqual([['token', 401]]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(getTicket).toHaveBeenCalledTimes(2);
  });
});
