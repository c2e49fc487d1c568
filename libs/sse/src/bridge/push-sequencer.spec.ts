import { jest } from '@jest/globals';

import { PushSequencer, type PushSequencerOptions } from './push-sequencer.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function sequencer(overrides: Partial<PushSequencerOptions<string, string>> = {}) {
  const log: string[] = [];
  const seq = new PushSequencer<string, string>({
    timeoutMs: 0,
    maxPending: 100,
    deliver: (label, value) => log.push(`${label}=${value}`),
    onTimeout: (label) => log.push(`timeout:${label}`),
    onLate: (label) => log.push(`late:${label}`),
    onOverflow: (label) => log.push(`overflow:${label}`),
    onRejected: (label) => log.push(`rejected:${label}`),
    ...overrides,
  });
  return { seq, log };
}

describe('PushSequencer', () => {
  afterEach(() => jest.useRealTimers());

  it('delivers a plain value at once when nothing waits', () => {
    const { seq, log } = sequencer();
    seq.submit('a', '1');
    expect(log).toEqual(['a=1']);
    expect(seq.pending).toBe(0);
  });

  it('holds a fast value behind a slower promise submitted before it', async () => {
    const { seq, log } = sequencer();
    const slow = deferred<string>();
    seq.submit('slow', slow.promise);
    seq.submit('fast', 'x');
    const second = deferred<string>();
    seq.submit('second', second.promise);
    second.resolve('y');
    await flush();
    expect(log).toEqual([]);
    expect(seq.pending).toBe(3);
    slow.resolve('z');
    await flush();
    expect(log).toEqual(['slow=z', 'fast=x', 'second=y']);
    expect(seq.pending).toBe(0);
  });

  it('skips a rejected promise and releases what waits behind it', async () => {
    const { seq, log } = sequencer();
    const failing = deferred<string>();
    seq.submit('failing', failing.promise);
    seq.submit('after', 'ok');
    failing.reject(new Error('boom'));
    await flush();
    expect(log).toEqual(['rejected:failing', 'after=ok']);
  });

  it('drops a promise that outlives the timeout, then reports it when it settles late', async () => {
    jest.useFakeTimers();
    const { seq, log } = sequencer({ timeoutMs: 50 });
    const stuck = deferred<string>();
    seq.submit('stuck', stuck.promise);
    seq.submit('after', 'ok');
    jest.advanceTimersByTime(49);
    expect(log).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(log).toEqual(['timeout:stuck', 'after=ok']);
    stuck.resolve('too late');
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['timeout:stuck', 'after=ok', 'late:stuck']);
  });

  it('refuses new values once maxPending wait, and accepts again after draining', async () => {
    const { seq, log } = sequencer({ maxPending: 2 });
    const slow = deferred<string>();
    seq.submit('slow', slow.promise);
    seq.submit('b', '1');
    seq.submit('c', '2');
    expect(log).toEqual(['overflow:c']);
    slow.resolve('0');
    await flush();
    seq.submit('d', '3');
    expect(log).toEqual(['overflow:c', 'slow=0', 'b=1', 'd=3']);
  });

  it('close() clears timers and ignores everything afterwards', async () => {
    jest.useFakeTimers();
    const { seq, log } = sequencer({ timeoutMs: 50 });
    const slow = deferred<string>();
    seq.submit('slow', slow.promise);
    seq.submit('queued', 'q');
    expect(jest.getTimerCount()).toBe(1);
    seq.close();
    expect(jest.getTimerCount()).toBe(0);
    expect(seq.pending).toBe(0);
    slow.resolve('late');
    seq.submit('after-close', 'z');
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual([]);
  });
});
