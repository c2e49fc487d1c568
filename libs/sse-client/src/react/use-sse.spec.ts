/** @jest-environment jsdom */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { act, renderHook } from '@testing-library/react';
import { createElement, type ReactNode, StrictMode } from 'react';

import { SseClientError } from '../sse-client.errors.js';
import type { SseClientOptions, SseGetTicket } from '../sse-client.types.js';
import { FakeEventSource } from '../testing/fake-event-source.js';
import { useSSE, type UseSseOptions } from './index.js';

type Props = { url: string | null; options: UseSseOptions };

const withFake = (options: UseSseOptions): UseSseOptions => ({
  EventSource: FakeEventSource,
  token: 'tok-1',
  ...options,
});

function renderUseSse(
  url: string | null,
  options: UseSseOptions = {},
  wrapper?: (props: { children: ReactNode }) => ReactNode,
) {
  const initialProps: Props = { url, options: withFake(options) };
  return renderHook((props: Props) => useSSE(props.url, props.options), { initialProps, wrapper });
}

beforeEach(() => {
  FakeEventSource.reset();
  jest.useFakeTimers();
});

afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

describe('useSSE', () => {
  it('connects after mount and reports the status', () => {
    const { result } = renderUseSse('/api/events');
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(FakeEventSource.latest.url).toBe('/api/events?token=tok-1');
    expect(result.current.status).toBe('connecting');

    act(() => FakeEventSource.latest.open());
    expect(result.current.status).toBe('open');

    act(() => FakeEventSource.latest.drop());
    expect(result.current.status).toBe('reconnecting');
    act(() => FakeEventSource.latest.open());
    expect(result.current.status).toBe('open');
  });

  it('exposes why the status changed and passes it to the latest onStatus', async () => {
    const first = jest.fn<NonNullable<SseClientOptions['onStatus']>>();
    const onStatus = jest.fn<NonNullable<SseClientOptions['onStatus']>>();
    const { result, rerender } = renderUseSse('/api/events', { onStatus: first, getToken: async () => 'tok-2' });
    expect(result.current.statusReason).toBeUndefined();
    rerender({ url: '/api/events', options: withFake({ onStatus, getToken: async () => 'tok-2' }) });

    act(() => FakeEventSource.latest.open());
    expect([result.current.status, result.current.statusReason]).toEqual(['open', 'opened']);
    act(() => FakeEventSource.latest.drop());
    expect([result.current.status, result.current.statusReason]).toEqual(['reconnecting', 'dropped']);
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('auth-expired', { reason: 'token expired' }));
    expect([result.current.status, result.current.statusReason]).toEqual(['reconnecting', 'auth-expired']);
    await act(async () => {
      await jest.advanceTimersByTimeAsync(1000);
    });
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.fail(401));
    expect([result.current.status, result.current.statusReason]).toEqual(['reconnecting', 'refused']);
    act(() => result.current.close());
    expect([result.current.status, result.current.statusReason]).toEqual(['closed', 'closed']);

    expect(first).not.toHaveBeenCalled();
    expect(onStatus.mock.calls).toEqual([
      ['open', 'connecting', 'opened'],
      ['reconnecting', 'open', 'dropped'],
      ['open', 'reconnecting', 'opened'],
      ['reconnecting', 'open', 'auth-expired'],
      ['open', 'reconnecting', 'opened'],
      ['reconnecting', 'open', 'refused'],
      ['closed', 'reconnecting', 'closed'],
    ]);
  });

  it('calls the latest onLastEventId when the last event id changes', () => {
    const first = jest.fn();
    const onLastEventId = jest.fn();
    const { rerender } = renderUseSse('/api/events', { onLastEventId: first });
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('update', 0, 'u:1'));
    rerender({ url: '/api/events', options: withFake({ onLastEventId }) });
    act(() => FakeEventSource.latest.emit('update', 1, 'u:2'));
    act(() => FakeEventSource.latest.emit('update', 2));
    expect(first.mock.calls).toEqual([['u:1']]);
    expect(onLastEventId.mock.calls).toEqual([['u:2']]);
  });

  it("calls the latest onPosition with the stream's position, a shared stream's opening included", () => {
    const first = jest.fn();
    const onPosition = jest.fn();
    const { rerender } = renderUseSse('/api/events', { onPosition: first });
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('connected', null, 'u:1'));
    rerender({ url: '/api/events', options: withFake({ onPosition }) });
    act(() => FakeEventSource.latest.emit('update', 1, 'u:2'));
    expect(first.mock.calls).toEqual([['u:1']]);
    expect(onPosition.mock.calls).toEqual([['u:2']]);
  });

  it('calls the latest callbacks after a rerender without a new EventSource', () => {
    const first = jest.fn();
    const second = jest.fn();
    const onUpdate = jest.fn();
    const { rerender } = renderUseSse('/api/events', { onNotification: first });
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('notification', { n: 1 }, 'u:1'));
    expect(first).toHaveBeenCalledWith({ n: 1 }, expect.anything());

    rerender({ url: '/api/events', options: withFake({ onNotification: second, onUpdate }) });
    act(() => FakeEventSource.latest.emit('notification', { n: 2 }, 'u:2'));
    act(() => FakeEventSource.latest.emit('update', { u: 1 }, 'u:3'));

    expect(first).toHaveBeenCalledTimes(1);
    expect(second).toHaveBeenCalledWith({ n: 2 }, expect.anything());
    expect(onUpdate).toHaveBeenCalledWith({ u: 1 }, expect.anything());
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(FakeEventSource.latest.closedByClient).toBe(false);
  });

  it('subscribes to an event type first handled after a rerender', () => {
    const custom = jest.fn();
    const { rerender } = renderUseSse('/api/events', { handlers: {} });
    act(() => FakeEventSource.latest.open());
    expect(FakeEventSource.latest.listenerCount('order.shipped')).toBe(0);

    rerender({ url: '/api/events', options: withFake({ handlers: { 'order.shipped': custom } }) });
    act(() => FakeEventSource.latest.emit('order.shipped', { id: 7 }, 'u:1'));
    expect(custom).toHaveBeenCalledWith({ id: 7 }, expect.anything());
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('calls onNotification and handlers.notification for the same event', () => {
    const calls: string[] = [];
    renderUseSse('/api/events', {
      onNotification: () => calls.push('onNotification'),
      handlers: { notification: () => calls.push('handlers') },
    });
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('notification', {}));
    expect(calls).toEqual(['onNotification', 'handlers']);
  });

  it('returns lastEventId and the latest error', () => {
    const onError = jest.fn();
    const { result } = renderUseSse('/api/events', { onNotification: () => {}, onError });
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('update', 1, 'u:5'));
    expect(result.current.lastEventId).toBe('u:5');
    expect(result.current.error).toBeUndefined();

    act(() => FakeEventSource.latest.emitRaw('notification', '{', 'u:6'));
    expect(result.current.error?.code).toBe('parse');
    expect(result.current.error?.eventType).toBe('notification');
    expect(onError).toHaveBeenCalledWith(result.current.error);
    expect(result.current.status).toBe('open');
    expect(result.current.lastEventId).toBe('u:6');
  });

  it('recovers with the latest token prop, without reconnecting when it changes', async () => {
    const { result, rerender } = renderUseSse('/api/events');
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('update', 1, 'u:9'));

    rerender({ url: '/api/events', options: withFake({ token: 'tok-2' }) });
    expect(FakeEventSource.instances).toHaveLength(1);

    act(() => FakeEventSource.latest.fail(401));
    expect(result.current.status).toBe('reconnecting');
    expect(result.current.error?.code).toBe('connection');
    await act(async () => {
      await jest.advanceTimersByTimeAsync(1000);
    });
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(FakeEventSource.latest.param('token')).toBe('tok-2');
    expect(FakeEventSource.latest.param('lastEventId')).toBe('u:9');
    act(() => FakeEventSource.latest.open());
    expect(result.current.status).toBe('open');
    expect(result.current.error).toBeUndefined();
  });

  it('uses the latest getToken and onAuthExpired on auth-expired', async () => {
    const oldGetToken = jest.fn(async () => 'old');
    const newGetToken = jest.fn(async () => 'new');
    const onAuthExpired = jest.fn();
    const { rerender } = renderUseSse('/api/events', { getToken: oldGetToken });
    rerender({ url: '/api/events', options: withFake({ getToken: newGetToken, onAuthExpired }) });
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('update', 1, 'u:1'));
    act(() => FakeEventSource.latest.emit('auth-expired', { reason: 'expired' }, 'u:1'));
    expect(onAuthExpired).toHaveBeenCalledWith({ reason: 'expired' }, expect.anything());
    await act(async () => {
      await jest.advanceTimersByTimeAsync(1000);
    });
    expect(oldGetToken).not.toHaveBeenCalled();
    expect(newGetToken).toHaveBeenCalledTimes(1);
    expect(FakeEventSource.latest.param('token')).toBe('new');
  });

  it('closes the EventSource on unmount', () => {
    const onStatus = jest.fn();
    const { unmount } = renderUseSse('/api/events', { onStatus });
    const source = FakeEventSource.latest;
    act(() => source.open());
    unmount();
    expect(source.closedByClient).toBe(true);
    expect(onStatus).toHaveBeenCalledTimes(1); // 'open' only: the hook is gone before 'closed'
    jest.advanceTimersByTime(60_000);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('close() closes the stream and is stable across renders', () => {
    const { result, rerender } = renderUseSse('/api/events');
    const close = result.current.close;
    rerender({ url: '/api/events', options: withFake({ onUpdate: () => {} }) });
    expect(result.current.close).toBe(close);
    act(() => result.current.close());
    expect(result.current.status).toBe('closed');
    expect(FakeEventSource.latest.closedByClient).toBe(true);
  });

  it('reconnects when the url or key changes, not otherwise', () => {
    const { rerender, result } = renderUseSse('/api/events?a=1');
    const first = FakeEventSource.latest;
    act(() => first.open());
    rerender({ url: '/api/events?a=1', options: withFake({ backoff: { initialMs: 5000 } }) });
    expect(FakeEventSource.instances).toHaveLength(1);

    rerender({ url: '/api/events?a=2', options: withFake({}) });
    expect(first.closedByClient).toBe(true);
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(FakeEventSource.latest.param('a')).toBe('2');
    expect(result.current.status).toBe('connecting');

    rerender({ url: '/api/events?a=2', options: withFake({ key: 'user-2' }) });
    expect(FakeEventSource.instances).toHaveLength(3);
    expect(FakeEventSource.instances[1]?.closedByClient).toBe(true);
  });

  it('opens nothing when disabled or without a url, and connects once enabled', () => {
    const { rerender, result } = renderUseSse('/api/events', { enabled: false });
    expect(FakeEventSource.instances).toHaveLength(0);
    expect(result.current.status).toBe('closed');
    expect(result.current.statusReason).toBe('closed');

    rerender({ url: null, options: withFake({}) });
    expect(FakeEventSource.instances).toHaveLength(0);
    expect(result.current.status).toBe('closed');

    rerender({ url: '/api/events', options: withFake({ enabled: true }) });
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(result.current.status).toBe('connecting');
    expect(result.current.statusReason).toBeUndefined();

    rerender({ url: '/api/events', options: withFake({ enabled: false }) });
    expect(FakeEventSource.latest.closedByClient).toBe(true);
    expect(result.current.status).toBe('closed');
    expect(result.current.statusReason).toBe('closed');
  });

  it('leaves a single open EventSource under StrictMode', () => {
    const { result } = renderUseSse('/api/events', {}, ({ children }) => createElement(StrictMode, null, children));
    const open = FakeEventSource.instances.filter((s) => !s.closedByClient);
    expect(open).toHaveLength(1);
    act(() => open[0]?.open());
    expect(result.current.status).toBe('open');
  });

  it("passes getTicket through: every connection asks the latest render's getTicket, and no token is in any URL", async () => {
    const first = jest.fn(async () => 't-1');
    const second = jest.fn(async () => 't-2');
    const { result, rerender } = renderUseSse('/api/events', { token: undefined, getTicket: first });
    await act(async () => {
      await jest.advanceTimersByTimeAsync(0);
    });
    expect(FakeEventSource.latest.param('ticket')).toBe('t-1');
    expect(FakeEventSource.latest.param('token')).toBeNull();
    act(() => FakeEventSource.latest.open());
    act(() => FakeEventSource.latest.emit('update', 1, 'u:4'));

    rerender({ url: '/api/events', options: withFake({ token: undefined, getTicket: second }) });
    expect(FakeEventSource.instances).toHaveLength(1);
    act(() => FakeEventSource.latest.drop());
    expect([result.current.status, result.current.statusReason]).toEqual(['reconnecting', 'dropped']);
    await act(async () => {
      await jest.advanceTimersByTimeAsync(1000);
    });
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(FakeEventSource.latest.param('ticket')).toBe('t-2');
    expect(FakeEventSource.latest.param('lastEventId')).toBe('u:4');
    expect([first.mock.calls.length, second.mock.calls.length]).toEqual([1, 1]);
  });

  it("shows unauthorized with the server's reason once the credential is refused maxAuthFailures times, so the page can sign out", async () => {
    const getTicket = jest.fn(async () => {
      throw new SseClientError('token', 'The ticket request answered HTTP 401 (expired)', {
        httpStatus: 401,
        reason: 'expired',
      });
    });
    const { result } = renderUseSse('/api/events', { token: undefined, getTicket, maxAuthFailures: 2 });
    await act(async () => {
      await jest.advanceTimersByTimeAsync(0);
    });
    expect([result.current.status, result.current.statusReason]).toEqual(['reconnecting', 'token-failed']);
    await act(async () => {
      await jest.advanceTimersByTimeAsync(2000);
    });
    expect([result.current.status, result.current.statusReason]).toEqual(['unauthorized', 'unauthorized']);
    expect(result.current.error).toMatchObject({ code: 'unauthorized', reason: 'expired' });
    await act(async () => {
      await jest.advanceTimersByTimeAsync(60_000);
    });
    expect(getTicket).toHaveBeenCalledTimes(2);
  });

  it('reports status error when no EventSource exists (jsdom has none)', () => {
    expect((globalThis as { EventSource?: unknown }).EventSource).toBeUndefined();
    const onError = jest.fn<(error: SseClientError) => void>();
    const { result } = renderHook(() => useSSE('/api/events', { onError }));
    expect(result.current.status).toBe('error');
    expect(result.current.statusReason).toBe('unsupported');
    expect(result.current.error?.code).toBe('unsupported');
    expect(onError).toHaveBeenCalledTimes(1);
  });

  describe('topics', () => {
    const topicsOf = (source: FakeEventSource): string[] =>
      new URL(source.url, 'http://localhost').searchParams.getAll('topic');

    it('subscribes with them, and reconnects when they change by value, not for the same ones in a new array', () => {
      const { rerender } = renderUseSse('/api/events', { topics: ['orders/1', 'tenants/acme/feed'] });
      const first = FakeEventSource.latest;
      expect(topicsOf(first)).toEqual(['orders/1', 'tenants/acme/feed']);
      act(() => first.open());

      rerender({ url: '/api/events', options: withFake({ topics: ['orders/1', 'tenants/acme/feed'] }) });
      rerender({ url: '/api/events', options: withFake({ topics: ['tenants/acme/feed', 'orders/1', 'orders/1'] }) });
      expect(FakeEventSource.instances).toHaveLength(1);
      expect(first.closedByClient).toBe(false);

      rerender({ url: '/api/events', options: withFake({ topics: ['orders/2', 'tenants/acme/feed'] }) });
      expect(first.closedByClient).toBe(true);
      expect(FakeEventSource.instances).toHaveLength(2);
      expect(topicsOf(FakeEventSource.latest)).toEqual(['orders/2', 'tenants/acme/feed']);

      rerender({ url: '/api/events', options: withFake({}) });
      expect(FakeEventSource.instances).toHaveLength(3);
      expect(topicsOf(FakeEventSource.latest)).toEqual([]);
    });

    it('gives them to getTicket, keeping them out of the stream URL', async () => {
      const getTicket = jest.fn<SseGetTicket>(async () => 't-1');
      renderUseSse('/api/events', { token: undefined, getTicket, topics: ['orders/1', 'orders/1'] });
      await act(async () => {
        await jest.advanceTimersByTimeAsync(0);
      });
      expect(getTicket).toHaveBeenCalledWith({ topics: ['orders/1'] });
      expect(FakeEventSource.latest.url).toBe('/api/events?ticket=t-1');
    });

    it('reports a bad topic as status error, opening nothing, and connects once it is fixed', () => {
      const onError = jest.fn<(error: SseClientError) => void>();
      const { result, rerender } = renderUseSse('/api/events', { topics: ['orders/*'], onError });
      expect(FakeEventSource.instances).toHaveLength(0);
      expect([result.current.status, result.current.statusReason]).toEqual(['error', 'unsupported']);
      expect(result.current.error?.message).toMatch(/Bad topics: SSE topic "orders\/\*" is not allowed/);
      expect(onError).toHaveBeenCalledTimes(1);

      rerender({ url: '/api/events', options: withFake({ topics: ['orders/7'], onError }) });
      expect(FakeEventSource.instances).toHaveLength(1);
      expect(result.current.status).toBe('connecting');
      expect(topicsOf(FakeEventSource.latest)).toEqual(['orders/7']);
    });

    it('says forbidden when the server refuses a topic with a status the client sees', () => {
      const { result } = renderUseSse('/api/events', { topics: ['orders/9'] });
      act(() => FakeEventSource.latest.fail(403));
      expect([result.current.status, result.current.statusReason]).toEqual(['error', 'forbidden']);
      expect(result.current.error?.httpStatus).toBe(403);
    });
  });
});
