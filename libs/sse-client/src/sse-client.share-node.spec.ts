import { afterEach, describe, expect, it } from '@jest/globals';

import { shareName } from './share/share-environment.js';
import { createSseClient, SseClient } from './sse-client.js';
import type { SseShareOptions } from './sse-client.types.js';
import { FakeEventSource } from './testing/fake-event-source.js';
import { FakeLockManager } from './testing/fake-share.js';

/**
 * Shared streams over Node's own BroadcastChannel (global in Node 20: it delivers between
 * the instances of one name in this thread, as a task), with real timers: what the
 * in-memory hub of sse-client.share.spec.ts stands for behaves the same on the real thing.
 */

interface Events {
  update: { n: number };
}

let clients: SseClient<Events>[] = [];
let urlCount = 0;

/** A URL of its own per test: Node's channels of one name reach each other across tests. */
const uniqueUrl = (): string => `/node-share/${process.pid}/${(urlCount += 1)}/events`;

function join(url: string, share: boolean | SseShareOptions, seen: number[]): SseClient<Events> {
  const client = createSseClient<Events>(url, {
    token: 'tok',
    EventSource: FakeEventSource,
    share,
    handlers: { update: (data) => void seen.push(data.n) },
  });
  clients.push(client);
  return client;
}

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const live = (url: string): FakeEventSource[] =>
  FakeEventSource.instances.filter((source) => !source.closedByClient && source.url.startsWith(url));

afterEach(async () => {
  // Node's BroadcastChannel keeps the process alive until closed.
  for (const client of clients) client.close();
  clients = [];
  await new Promise((resolve) => setTimeout(resolve, 20));
  FakeEventSource.reset();
});

describe('SseClient share over Node BroadcastChannel', () => {
  it('shares one EventSource among clients electing with Web Locks, each getting every event once', async () => {
    const url = uniqueUrl();
    const locks = new FakeLockManager();
    const seen: number[][] = [[], [], []];
    const share = { BroadcastChannel: globalThis.BroadcastChannel, locks };
    seen.forEach((log) => join(url, share, log));
    await waitFor(() => live(url).length === 1);
    const source = live(url)[0];
    source.open();
    for (let n = 1; n <= 5; n += 1) source.emit('update', { n }, `200-${n}`);
    await waitFor(() => seen.every((log) => log.length === 5));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(seen).toEqual([1, 2, 3].map(() => [1, 2, 3, 4, 5]));
    expect(FakeEventSource.instances.filter((s) => s.url.startsWith(url))).toHaveLength(1);
    expect(clients.map((c) => c.status)).toEqual(['open', 'open', 'open']);
  });

  it('with share: true (no Web Locks in Node: leases), elects one leader and hands over on close, resuming', async () => {
    const url = uniqueUrl();
    const seen: number[][] = [[], [], []];
    // Some ms apart: member ids sort by creation time, and the oldest wins the lease election.
    for (const log of seen) {
      join(url, true, log);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    const [a, b, c] = clients as [SseClient<Events>, SseClient<Events>, SseClient<Events>];
    await waitFor(() => live(url).length === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(live(url)).toHaveLength(1);
    expect(clients.map((client) => client.shareRole)).toEqual(['leader', 'follower', 'follower']);
    const first = live(url)[0];
    first.open();
    first.emit('update', { n: 1 }, '300-1');
    first.emit('update', { n: 2 }, '300-2');
    await waitFor(() => seen.every((log) => log.length === 2));

    a.close();
    await waitFor(() => live(url).length === 1 && live(url)[0] !== first);
    const second = live(url)[0];
    expect(second.param('lastEventId')).toBe('300-2');
    expect([b.shareRole, c.shareRole].sort()).toEqual(['follower', 'leader']);
    second.open();
    second.emit('update', { n: 2 }, '300-2');
    second.emit('update', { n: 3 }, '300-3');
    await waitFor(() => seen.slice(1).every((log) => log.length === 3));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(seen).toEqual([
      [1, 2],
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });

  it('keeps every client receiving when a script posts forged messages on the real channel: a bad topic, a status error, an absurd id, a roll-call', async () => {
    const url = uniqueUrl();
    const locks = new FakeLockManager();
    const seen: number[][] = [[], [], []];
    const share = { BroadcastChannel: globalThis.BroadcastChannel, locks };
    seen.forEach((log) => join(url, share, log));
    await waitFor(() => live(url).length === 1 && clients.filter((c) => c.shareRole === 'follower').length === 2);
    const source = live(url)[0];
    source.open();
    source.emit('update', { n: 1 }, '400-1');
    await waitFor(() => seen.every((log) => log.length === 1));

    // Any script of the origin: a channel of the group's name (the client's own naming).
    const forger = new BroadcastChannel(shareName(url, undefined, undefined));
    const stranger = '000000000-forged00';
    try {
      forger.postMessage({ kind: 'member', topics: ['not a topic!'] });
      forger.postMessage({
        kind: 'member',
        from: stranger,
        join: true,
        topics: ['not a topic!'],
        types: [],
        lastEventId: undefined,
      });
      forger.postMessage({ kind: 'roll-call', from: stranger });
      forger.postMessage({
        kind: 'status',
        from: stranger,
        status: 'error',
        reason: 'gave-up',
        topics: [],
        position: undefined,
        error: { code: 'gave-up', message: 'forged', httpStatus: undefined },
      });
      forger.postMessage({
        kind: 'event',
        from: stranger,
        event: { type: 'update', data: '{"n":999}', id: '9999999999999-0', topic: undefined },
      });
      forger.postMessage(null);
      forger.postMessage({ kind: 'solo', from: stranger, members: 'everyone' });
      // What the clients make of it travels as a task, like the messages: waited a stated 100 ms.
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let n = 2; n <= 4; n += 1) source.emit('update', { n }, `400-${n}`);
      await waitFor(() => seen.every((log) => log.length >= 4));
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(seen).toEqual([1, 2, 3].map(() => [1, 2, 3, 4]));
      expect(clients.map((c) => c.status)).toEqual(['open', 'open', 'open']);
      expect(live(url)).toEqual([source]);
      // No from, a bad topic, an absurd id, not an object, a solo to no list: malformed. The
      // roll-call and status from a stranger are well-formed, and not the leader's.
      expect(clients.map((c) => c.shareStats.malformedMessages)).toEqual([5, 5, 5]);
    } finally {
      forger.close();
    }
  });
});
