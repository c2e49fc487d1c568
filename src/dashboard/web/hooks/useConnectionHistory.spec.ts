/** @jest-environment jsdom */
import { describe, expect, it, jest } from '@jest/globals';
import { act, renderHook } from '@testing-library/react';

import type { LogActivity } from './useActivityLog.js';
import { useConnectionHistory } from './useConnectionHistory.js';

describe('useConnectionHistory', () => {
  it('counts recoveries and where each resumed; a token renewal is not logged as lost', () => {
    const log = jest.fn<LogActivity>();
    const { result } = renderHook(() => useConnectionHistory('1-4', log));
    act(() => result.current.onStatus('open', 'connecting', 'opened'));
    act(() => result.current.onLastEventId('1-5'));
    act(() => result.current.onStatus('reconnecting', 'open', 'auth-expired'));
    act(() => result.current.onStatus('open', 'reconnecting', 'opened'));
    expect(result.current.recoveries).toBe(1);
    expect(result.current.resumedAfter).toBe('1-5');

    act(() => result.current.onLastEventId('1-6'));
    act(() => result.current.onStatus('reconnecting', 'open', 'dropped'));
    act(() => result.current.onStatus('open', 'reconnecting', 'opened'));
    expect(result.current.recoveries).toBe(2);
    expect(result.current.resumedAfter).toBe('1-6');

    expect(log.mock.calls).toEqual([
      ['connected', 'Connected, resuming after event 1-4.'],
      ['recovered', 'Recovered: resumed after event 1-5.'],
      ['lost', 'Connection lost: reconnecting…'],
      ['recovered', 'Recovered: resumed after event 1-6.'],
    ]);
  });
});
