import { jest } from '@jest/globals';
import { formatEventId, parseEventId, type SseEventId } from '@nest-sse/protocol';

import { SseFrame } from '../wire/sse-frame.js';
import { MemoryHistoryStore } from './memory-history.store.js';

const id = (ms: number, seq = 0): SseEventId => ({ ms, seq });
const frame = (n: number) => new SseFrame({ type: 'update', data: String(n), id: formatEventId(id(1000 + n)) });

describe('MemoryHistoryStore', () => {
  let store: MemoryHistoryStore;
  afterEach(() => store.onModuleDestroy());

  it("replays a user's events and broadcasts after an id, merged in id order", () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000 });
    const at = Date.now();
    store.append({ id: id(1001), userIds: ['a'], frame: frame(1), at });
    store.append({ id: id(1002), frame: frame(2), at });
    store.append({ id: id(1003), userIds: ['b'], frame: frame(3), at });
    store.append({ id: id(1004), userIds: ['a', 'b'], frame: frame(4), at });
    store.append({ id: id(1005), frame: frame(5), at });
    const result = store.replay('a', id(1001));
    expect(result).toEqual({ ok: true, frames: [frame(2), frame(4), frame(5)] });
    expect(store.replay('b', id(1000))).toEqual({ ok: true, frames: [frame(2), frame(3), frame(4), frame(5)] });
    expect(store.replay('nobody', id(1003))).toEqual({ ok: true, frames: [frame(4), frame(5)].slice(1) });
  });

  it('keeps at most maxEvents per user and says too-old for ids before what it dropped', () => {
    store = new MemoryHistoryStore({ maxEvents: 3, ttlMs: 60_000 });
    const at = Date.now();
    for (let n = 1; n <= 5; n++) store.append({ id: id(1000 + n), userIds: ['a'], frame: frame(n), at });
    expect(store.size('a')).toBe(3);
    expect(store.replay('a', id(1001))).toEqual({ ok: false, reason: 'too-old' });
    expect(store.replay('a', id(1002))).toEqual({ ok: true, frames: [frame(3), frame(4), frame(5)] });
    // Other users are not affected by a's evictions.
    expect(store.replay('b', id(1001))).toEqual({ ok: true, frames: [] });
  });

  it('bounds broadcasts by count too', () => {
    store = new MemoryHistoryStore({ maxEvents: 2, ttlMs: 60_000 });
    for (let n = 1; n <= 3; n++) store.append({ id: id(1000 + n), frame: frame(n), at: Date.now() });
    expect(store.replay('anyone', id(1000))).toEqual({ ok: false, reason: 'too-old' });
    // The client saw the dropped event itself: everything after it is still held.
    expect(store.replay('anyone', id(1001))).toEqual({ ok: true, frames: [frame(2), frame(3)] });
  });

  it('drops events older than ttlMs and says too-old for ids before them', () => {
    jest.useFakeTimers({ now: 50_000 });
    try {
      store = new MemoryHistoryStore({ maxEvents: 100, ttlMs: 1000 });
      store.append({ id: id(1001), userIds: ['a'], frame: frame(1), at: Date.now() });
      jest.setSystemTime(50_600);
      store.append({ id: id(1002), userIds: ['a'], frame: frame(2), at: Date.now() });
      jest.setSystemTime(51_200); // the first is 1200 ms old, the second 600 ms
      expect(store.replay('a', id(1000))).toEqual({ ok: false, reason: 'too-old' });
      expect(store.replay('a', id(1001))).toEqual({ ok: true, frames: [frame(2)] });
      expect(store.size('a')).toBe(1);
      // The sweep empties and forgets logs of users who got nothing since.
      jest.setSystemTime(53_000);
      jest.advanceTimersByTime(1000);
      expect(store.size()).toBe(0);
      expect(store.replay('a', id(1001))).toEqual({ ok: false, reason: 'too-old' });
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('MemoryHistoryStore: memory per user', () => {
  let store: MemoryHistoryStore;
  afterEach(() => store.onModuleDestroy());
  const toUser = (userId: string, n: number) =>
    store.append({ id: id(1000 + n), userIds: [userId], frame: frame(n), at: Date.now() });

  it("starts a user's log at a few slots and doubles it up to maxEvents", () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000 });
    toUser('a', 1);
    expect(store.slots('a')).toBe(4);
    for (let n = 2; n <= 5; n++) toUser('a', n);
    expect(store.slots('a')).toBe(8);
    for (let n = 6; n <= 12; n++) toUser('a', n);
    expect(store.slots('a')).toBe(10);
    expect(store.size('a')).toBe(10);
    // Past maxEvents the oldest go, as before: ids before them are too old.
    expect(store.replay('a', id(1001))).toEqual({ ok: false, reason: 'too-old' });
    expect(store.replay('a', id(1002))).toEqual({ ok: true, frames: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(frame) });
  });

  it('ages out a grown log by ttl, in order', () => {
    jest.useFakeTimers({ now: 10_000 });
    try {
      store = new MemoryHistoryStore({ maxEvents: 100, ttlMs: 1000 });
      for (let n = 1; n <= 6; n++) toUser('a', n); // grown to 8 slots
      jest.setSystemTime(10_600);
      for (let n = 7; n <= 9; n++) toUser('a', n);
      jest.setSystemTime(11_200); // the first six are 1200 ms old
      expect(store.replay('a', id(1005))).toEqual({ ok: false, reason: 'too-old' });
      expect(store.replay('a', id(1006))).toEqual({ ok: true, frames: [frame(7), frame(8), frame(9)] });
      expect(store.size('a')).toBe(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps at most maxUsers, forgetting the least recently written, whose resume is then too-old', () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000, maxUsers: 3 });
    toUser('a', 1);
    toUser('b', 2);
    toUser('c', 3);
    toUser('a', 4); // a is now the most recently written, b the least
    toUser('d', 5);
    expect(store.userCount()).toBe(3);
    expect(store.size('b')).toBe(0);
    expect(store.replay('b', id(1000))).toEqual({ ok: false, reason: 'too-old' });
    expect(store.replay('a', id(1000))).toEqual({ ok: true, frames: [frame(1), frame(4)] });
    expect(store.replay('c', id(1000))).toEqual({ ok: true, frames: [frame(3)] });
    expect(store.replay('d', id(1000))).toEqual({ ok: true, frames: [frame(5)] });
    // From after what b's log held, nothing of b's was lost.
    expect(store.replay('b', id(1002))).toEqual({ ok: true, frames: [] });
  });

  it('says too-old to a user written again after being evicted, for ids from before the eviction', () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000, maxUsers: 2 });
    toUser('a', 1);
    toUser('b', 2);
    toUser('c', 3); // evicts a, which held up to 1001
    toUser('a', 4); // a has a log again (evicting b, which held up to 1002), holding only 1004
    expect(store.replay('a', id(1000))).toEqual({ ok: false, reason: 'too-old' });
    expect(store.replay('a', id(1002))).toEqual({ ok: true, frames: [frame(4)] });
  });

  it('never evicts broadcasts, and gives them to users without a log when nothing of theirs can be lost', () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000, maxUsers: 1 });
    store.append({ id: id(1001), frame: frame(1), at: Date.now() });
    toUser('a', 2);
    toUser('b', 3); // evicts a
    store.append({ id: id(1004), frame: frame(4), at: Date.now() });
    expect(store.userCount()).toBe(1);
    expect(store.replay('b', id(1000))).toEqual({ ok: true, frames: [frame(1), frame(3), frame(4)] });
    expect(store.replay('nobody', id(1002))).toEqual({ ok: true, frames: [frame(4)] });
    expect(store.replay('nobody', id(1001))).toEqual({ ok: false, reason: 'too-old' });
  });

  it('refuses bounds that are not positive integers', () => {
    for (const bad of [{ maxEvents: 0 }, { ttlMs: 1.5 }, { maxUsers: 0 }, { maxUsers: 2 ** 24 + 1 }]) {
      expect(() => new MemoryHistoryStore({ maxEvents: 10, ttlMs: 1000, ...bad })).toThrow(
        /^MemoryHistoryStore: (maxEvents|ttlMs|maxUsers) must be an integer/,
      );
    }
  });
});

describe('MemoryHistoryStore: topics', () => {
  let store: MemoryHistoryStore;
  afterEach(() => store.onModuleDestroy());
  const at = () => Date.now();
  const toTopic = (topic: string, n: number) => store.append({ id: id(1000 + n), topic, frame: frame(n), at: at() });
  const toUser = (userId: string, n: number) =>
    store.append({ id: id(1000 + n), userIds: [userId], frame: frame(n), at: at() });
  const broadcast = (n: number) => store.append({ id: id(1000 + n), frame: frame(n), at: at() });

  it("replays a topic's events only to a resume that asks for the topic", () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000 });
    toTopic('orders/1', 1);
    broadcast(2);
    toTopic('orders/2', 3);
    expect(store.replay('a', id(1000))).toEqual({ ok: true, frames: [frame(2)] });
    expect(store.replay('a', id(1000), [])).toEqual({ ok: true, frames: [frame(2)] });
    expect(store.replay('a', id(1000), ['orders/2'])).toEqual({ ok: true, frames: [frame(2), frame(3)] });
    expect(store.replay('a', id(1000), ['orders/1', 'orders/2'])).toEqual({
      ok: true,
      frames: [frame(1), frame(2), frame(3)],
    });
    expect(store.size()).toBe(3);
    expect(store.size({ topic: 'orders/1' })).toBe(1);
    expect(store.size('orders/1')).toBe(0); // a user id, not the topic
  });

  it("merges the user's events, broadcasts and two topics in id order, after the id", () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000 });
    toTopic('t/b', 1);
    toUser('a', 2);
    toTopic('t/a', 3);
    broadcast(4);
    toTopic('t/b', 5);
    toUser('b', 6);
    toTopic('t/c', 7);
    toTopic('t/a', 8);
    toUser('a', 9);
    broadcast(10);
    toTopic('t/b', 11);
    expect(store.replay('a', id(1000), ['t/a', 't/b'])).toEqual({
      ok: true,
      frames: [1, 2, 3, 4, 5, 8, 9, 10, 11].map(frame),
    });
    expect(store.replay('a', id(1004), ['t/b', 't/a'])).toEqual({ ok: true, frames: [5, 8, 9, 10, 11].map(frame) });
    expect(store.replay('b', id(1005), ['t/a', 't/c'])).toEqual({ ok: true, frames: [6, 7, 8, 10].map(frame) });
  });

  it('replays a record held by several asked logs once', () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000 });
    toTopic('t/a', 1);
    // One record kept for a user and a topic (the interface allows both): stored once, in two logs.
    store.append({ id: id(1002), userIds: ['a'], topic: 't/a', frame: frame(2), at: at() });
    toTopic('t/a', 3);
    expect(store.size()).toBe(4);
    expect(store.replay('a', id(1000), ['t/a', 't/a'])).toEqual({ ok: true, frames: [frame(1), frame(2), frame(3)] });
    expect(store.replay('a', id(1001), ['t/a'])).toEqual({ ok: true, frames: [frame(2), frame(3)] });
  });

  it('keeps at most maxEvents per topic: too-old for ids before what it dropped, only for resumes asking for it', () => {
    store = new MemoryHistoryStore({ maxEvents: 3, ttlMs: 60_000 });
    for (let n = 1; n <= 5; n++) toTopic('t/a', n);
    toTopic('t/b', 6);
    expect(store.size({ topic: 't/a' })).toBe(3);
    expect(store.slots({ topic: 't/a' })).toBe(3);
    expect(store.replay('a', id(1001), ['t/a'])).toEqual({ ok: false, reason: 'too-old' });
    expect(store.replay('a', id(1001), ['t/b', 't/a'])).toEqual({ ok: false, reason: 'too-old' });
    expect(store.replay('a', id(1002), ['t/a'])).toEqual({ ok: true, frames: [frame(3), frame(4), frame(5)] });
    expect(store.replay('a', id(1001), ['t/b'])).toEqual({ ok: true, frames: [frame(6)] });
    expect(store.replay('a', id(1001))).toEqual({ ok: true, frames: [] });
  });

  it("drops a topic's events older than ttlMs, and the sweep forgets its emptied log", () => {
    jest.useFakeTimers({ now: 50_000 });
    try {
      store = new MemoryHistoryStore({ maxEvents: 100, ttlMs: 1000 });
      toTopic('t/a', 1);
      jest.setSystemTime(50_600);
      toTopic('t/a', 2);
      jest.setSystemTime(51_200); // the first is 1200 ms old, the second 600 ms
      expect(store.replay('a', id(1000), ['t/a'])).toEqual({ ok: false, reason: 'too-old' });
      expect(store.replay('a', id(1001), ['t/a'])).toEqual({ ok: true, frames: [frame(2)] });
      expect(store.size({ topic: 't/a' })).toBe(1);
      jest.setSystemTime(53_000);
      jest.advanceTimersByTime(1000);
      expect(store.topicCount()).toBe(0);
      expect(store.size()).toBe(0);
      expect(store.replay('a', id(1001), ['t/a'])).toEqual({ ok: false, reason: 'too-old' });
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps at most maxTopics, forgetting the one published to least recently: too-old for it, not for the others', () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000, maxTopics: 2 });
    toTopic('t/a', 1);
    toTopic('t/b', 2);
    toTopic('t/a', 3); // t/b is now the least recently published to
    toTopic('t/c', 4); // evicts t/b, which held up to 1002
    expect(store.topicCount()).toBe(2);
    expect(store.size({ topic: 't/b' })).toBe(0);
    expect(store.replay('a', id(1000), ['t/b'])).toEqual({ ok: false, reason: 'too-old' });
    expect(store.replay('a', id(1000), ['t/a', 't/c'])).toEqual({ ok: true, frames: [frame(1), frame(3), frame(4)] });
    // Users and broadcasts are not affected by a topic's eviction.
    expect(store.replay('a', id(1000))).toEqual({ ok: true, frames: [] });
    // From after what t/b held, nothing of it was lost.
    expect(store.replay('a', id(1002), ['t/b'])).toEqual({ ok: true, frames: [] });
    // A topic published to again after its eviction remembers it.
    toTopic('t/b', 5); // evicts t/a, which held up to 1003
    expect(store.replay('a', id(1001), ['t/b'])).toEqual({ ok: false, reason: 'too-old' });
    expect(store.replay('a', id(1003), ['t/b'])).toEqual({ ok: true, frames: [frame(5)] });
    expect(store.userCount()).toBe(0);
  });

  it('counts topics apart from users', () => {
    store = new MemoryHistoryStore({ maxEvents: 10, ttlMs: 60_000 });
    expect(store.topicCount()).toBe(0);
    toTopic('t/a', 1);
    toTopic('t/a', 2);
    toTopic('t/b', 3);
    toUser('a', 4);
    broadcast(5);
    expect(store.topicCount()).toBe(2);
    expect(store.userCount()).toBe(1);
    expect(store.size()).toBe(5);
    expect(store.slots()).toBe(4 * 4);
  });

  it('refuses a maxTopics that is not a positive integer up to 2^24', () => {
    for (const maxTopics of [0, 1.5, 2 ** 24 + 1]) {
      expect(() => new MemoryHistoryStore({ maxEvents: 10, ttlMs: 1000, maxTopics })).toThrow(
        /^MemoryHistoryStore: maxTopics must be an integer/,
      );
    }
  });
});

describe('event ids', () => {
  it('parse only the server format', () => {
    expect(parseEventId('1700000000000-3')).toEqual({ ms: 1700000000000, seq: 3 });
    for (const bad of ['', '1', '-1-0', '1-0-0', 'a-b', '1.5-0', ' 1-0', '1-0\n', '9999999999999999-0']) {
      expect(parseEventId(bad)).toBeUndefined();
    }
  });
});
