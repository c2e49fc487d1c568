import { describe, expect, it } from '@jest/globals';

import { statusActivity, type StatusChange } from './connection-activity.js';

const change = (over: Partial<StatusChange>): StatusChange => ({
  status: 'open',
  previous: 'connecting',
  reason: 'opened',
  lastSeen: undefined,
  resumeFrom: undefined,
  ...over,
});

describe('statusActivity', () => {
  it('logs a lost connection when the stream drops or is refused', () => {
    for (const reason of ['dropped', 'refused'] as const) {
      expect(statusActivity(change({ status: 'reconnecting', previous: 'open', reason }))).toEqual({
        kind: 'lost',
        text: 'Connection lost: reconnecting…',
      });
    }
  });

  it('logs nothing for the reconnect of a token renewal (onAuthExpired says it)', () => {
    const renewal = change({ status: 'reconnecting', previous: 'open', reason: 'auth-expired' });
    expect(statusActivity(renewal)).toBeUndefined();
  });

  it('logs the first connection, with the stored id it resumes from', () => {
    expect(statusActivity(change({}))).toEqual({ kind: 'connected', text: 'Connected.' });
    expect(statusActivity(change({ resumeFrom: '5-1' }))).toEqual({
      kind: 'connected',
      text: 'Connected, resuming after event 5-1.',
    });
  });

  it('logs a recovery with the last id seen before it', () => {
    expect(statusActivity(change({ previous: 'reconnecting', lastSeen: '7-3', resumeFrom: '5-1' }))).toEqual({
      kind: 'recovered',
      text: 'Recovered: resumed after event 7-3.',
    });
    const fromTheStart = statusActivity(change({ previous: 'reconnecting' }));
    expect(fromTheStart?.text).toBe('Recovered: resumed after event (none yet).');
  });

  it('logs giving up, and nothing for a retry that was already reconnecting or a close', () => {
    expect(statusActivity(change({ status: 'error', previous: 'reconnecting', reason: 'gave-up' }))).toEqual({
      kind: 'error',
      text: 'Gave up reconnecting.',
    });
    const retry = change({ status: 'reconnecting', previous: 'connecting', reason: 'dropped' });
    expect(statusActivity(retry)).toBeUndefined();
    expect(statusActivity(change({ status: 'closed', previous: 'open', reason: 'closed' }))).toBeUndefined();
  });
});
