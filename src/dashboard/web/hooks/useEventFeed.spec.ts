/** @jest-environment jsdom */
import { describe, expect, it } from '@jest/globals';
import { act, renderHook } from '@testing-library/react';

import { useEventFeed } from './useEventFeed.js';

const delivered = (lastEventId: string) => ({ lastEventId }) as MessageEvent<string>;

describe('useEventFeed', () => {
  it('lists each event id once, newest first, and counts the repeats it drops', () => {
    const { result } = renderHook(() => useEventFeed());
    const accepted: boolean[] = [];
    act(() => {
      accepted.push(result.current.receive('notification', { orderId: 'o1', message: 'placed' }, delivered('1-1')));
      accepted.push(result.current.receive('update', { message: 'shipped' }, delivered('1-2')));
      accepted.push(result.current.receive('notification', { orderId: 'o1', message: 'placed' }, delivered('1-1')));
    });
    expect(accepted).toEqual([true, true, false]);
    expect(result.current.items.map((item) => [item.id, item.type, item.message, item.orderId])).toEqual([
      ['1-2', 'update', 'shipped', undefined],
      ['1-1', 'notification', 'placed', 'o1'],
    ]);
    expect(result.current.duplicates).toBe(1);
  });

  it('lists events without an id every time, showing the data when there is no message', () => {
    const { result } = renderHook(() => useEventFeed());
    act(() => {
      result.current.receive('update', { kind: 'x' }, delivered(''));
      result.current.receive('update', { kind: 'x' }, delivered(''));
    });
    expect(result.current.items).toHaveLength(2);
    expect(new Set(result.current.items.map((item) => item.id)).size).toBe(2);
    expect(result.current.items[0]?.message).toBe('{"kind":"x"}');
    expect(result.current.duplicates).toBe(0);
  });

  it('keeps the newest 200 and still drops a repeat of an id no longer shown', () => {
    const { result } = renderHook(() => useEventFeed());
    act(() => {
      for (let i = 1; i <= 201; i += 1) result.current.receive('update', { message: `m${i}` }, delivered(`1-${i}`));
    });
    expect(result.current.items).toHaveLength(200);
    expect(result.current.items.at(-1)?.id).toBe('1-2');
    act(() => {
      expect(result.current.receive('update', { message: 'm1' }, delivered('1-1'))).toBe(false);
    });
    expect(result.current.duplicates).toBe(1);
  });
});
