import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { SSE_LIMITS } from '@nest-sse/protocol';

import { SSE_SHARE_TIMINGS } from './share/tab-share.js';
import { SSE_SHARE_LIMITS } from './share/tab-share.protocol.js';
import type { SseClientError } from './sse-client.errors.js';
import { createSseClient, SseClient } from './sse-client.js';
import type { SseClientOptions, SseShareOptions, SseStatus, SseStatusReason } from './sse-client.types.js';
import { FakeEventSource } from './testing/fake-event-source.js';
import { FakeBroadcastHub, type FakeChannel, FakeLockManager } from './testing/fake-share.js';

/**
 * Shared streams without a browser: the clients of "several tabs" live in one
 * test, talk over an in-memory BroadcastChannel hub (or Node's own), elect with a fake Web
 * Locks manager (or leases), and the leader's EventSource is a FakeEventSource.
 */

interface TestEvents {
  update: { n: number };
  custom: { x: number };
  message: unknown;
}

const NO_JITTER = { initialMs: 1000, maxMs: 8000, factor: 2, jitter: 0 };
const URL_A = '/api/events';

interface Member {
  client: SseClient<TestEvents>;
  name: string;
  /** `update` events handled: [n, lastEventId]. */
  updates: Array<[number, string]>;
  statuses: Array<[SseStatus, SseStatusReason]>;
  errors: SseClientError[];
  authExpired: string[];
  roles: string[];
  /** The channels its share opened (the share's, and the lease election's). */
  channels: FakeChannel[];
}

let hub: FakeBroadcastHub;
let locks: FakeLockManager;
let members: Member[];

function join(
  name: string,
  options: SseClientOptions<TestEvents> = {},
  share: boolean | SseShareOptions = { BroadcastChannel: hub.BroadcastChannel, locks },
  url: string = URL_A,
): Member {
  const member: Member = {
    name,
    client: undefined as never,
    updates: [],
    statuses: [],
    errors: [],
    authExpired: [],
    roles: [],
    channels: [],
  };
  const before = hub.channels.length;
  member.client = createSseClient<TestEvents>(url, {
    token: 'tok-1',
    backoff: NO_JITTER,
    EventSource: FakeEventSource,
    share,
    ...options,
    handlers: {
      update: (data, event) => void member.updates.push([data.n, event.lastEventId]),
      ...options.handlers,
    },
    onStatus: (status, _previous, reason) => void member.statuses.push([status, reason]),
    onError: (error) => void member.errors.push(error),
    onAuthExpired: (data) => void member.authExpired.push(data.reason),
    onShareRole: (role) => void member.roles.push(role),
  });
  member.channels = hub.channels.slice(before);
  members.push(member);
  return member;
}

/** Runs the channel's deliveries (promise jobs) and the timers due within `ms`. */
async function settle(ms = 0): Promise<void> {
  for (let i = 0; i < 4; i += 1) await jest.advanceTimersByTimeAsync(0);
  if (ms > 0) await jest.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 4; i += 1) await jest.advanceTimersByTimeAsync(0);
}

/** The EventSources not closed by their client. */
const live = (): FakeEventSource[] => FakeEventSource.instances.filter((source) => !source.closedByClient);

function theLiveSource(): FakeEventSource {
  const sources = live();
  expect(sources).toHaveLength(1);
  return sources[0];
}

const topicsOf = (source: FakeEventSource): string[] =>
  new URL(source.url, 'http://localhost').searchParams.getAll('topic');

const roles = (): string[] => members.map((m) => `${m.name}:${m.client.shareRole}`);

/** `topic\njson`, as a `?shared=1` stream carries a topic event. */
const tagged = (topic: string, data: unknown): string => `${topic}\n${JSON.stringify(data)}`;

beforeEach(() => {
  FakeEventSource.reset();
  jest.useFakeTimers({ now: 1_700_000_000_000 });
  hub = new FakeBroadcastHub();
  locks = new FakeLockManager();
  members = [];
});

afterEach(async () => {
  const storm = hub.storm;
  for (const member of members) member.client.close();
  await settle();
  jest.clearAllTimers();
  jest.useRealTimers();
  // Members that answer each other without end: the hub stopped delivering.
  expect(storm).toBe(false);
});

describe('SseClient share: one stream for the group', () => {
  it('opens one EventSource for clients of one URL and gives each every event once, in order, with its id', async () => {
    const [a, b, c] = [join('a'), join('b'), join('c')];
    await settle();
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(roles()).toEqual(['a:leader', 'b:follower', 'c:follower']);
    const source = theLiveSource();
    expect(source.param('token')).toBe('tok-1');
    expect(source.param('topic')).toBeNull();
    // Always a shared stream: its opening is an event, so a hand-over knows where it stood.
    expect(source.param('shared')).toBe('1');

    source.open();
    source.emit('update', { n: 1 }, '100-0');
    source.emit('update', { n: 2 }, '100-1');
    source.emit('heartbeat', {});
    source.emit('update', { n: 3 }, '101-0');
    await settle();
    for (const m of [a, b, c]) {
      expect(m.updates).toEqual([
        [1, '100-0'],
        [2, '100-1'],
        [3, '101-0'],
      ]);
      expect(m.client.lastEventId).toBe('101-0');
      expect(m.statuses).toEqual([['open', 'opened']]);
      expect(m.client.status).toBe('open');
    }
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('tells a client that joins an open stream its status', async () => {
    join('a');
    await settle();
    theLiveSource().open();
    const late = join('late');
    await settle();
    expect(late.client.status).toBe('open');
    expect(late.statuses).toEqual([['open', 'opened']]);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it("subscribes the leader to every member's topics, tagged, and gives each client only its own topics' events", async () => {
    const a = join('a', { topics: ['a'] });
    const b = join('b', { topics: ['b'] });
    const none = join('none');
    await settle();
    const source = theLiveSource();
    expect(topicsOf(source)).toEqual(['a', 'b']);
    expect(source.param('shared')).toBe('1');

    source.open();
    source.emitRaw('update', tagged('a', { n: 1 }), '100-0');
    source.emitRaw('update', tagged('b', { n: 2 }), '100-1');
    source.emit('update', { n: 3 }, '100-2');
    source.emitRaw('update', tagged('a', { n: 4 }), '100-3');
    await settle();
    expect(a.updates).toEqual([
      [1, '100-0'],
      [3, '100-2'],
      [4, '100-3'],
    ]);
    expect(b.updates).toEqual([
      [2, '100-1'],
      [3, '100-2'],
    ]);
    expect(none.updates).toEqual([[3, '100-2']]);
    for (const m of [a, b, none]) expect(m.errors).toEqual([]);
  });

  it('gives every client the events of a topic its route adds by itself (its URL names it), which no client asked for', async () => {
    const a = join('a', { topics: ['a'] });
    const none = join('none');
    await settle();
    const source = theLiveSource();
    source.open();
    source.emitRaw('update', tagged('jobs/7', { n: 1 }), '100-0');
    source.emitRaw('update', tagged('a', { n: 2 }), '100-1');
    await settle();
    expect(a.updates).toEqual([
      [1, '100-0'],
      [2, '100-1'],
    ]);
    expect(none.updates).toEqual([[1, '100-0']]);
  });

  it('reconnects once, resuming from the last id, when a member joins with a new topic; nothing is dispatched twice', async () => {
    const a = join('a', { topics: ['a'] });
    const plain = join('plain');
    await settle();
    const first = theLiveSource();
    expect(topicsOf(first)).toEqual(['a']);
    first.open();
    first.emitRaw('update', tagged('a', { n: 1 }), '100-0');
    first.emit('update', { n: 2 }, '100-1');
    await settle();

    const c = join('c', { topics: ['c'] });
    await settle();
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(first.closedByClient).toBe(true);
    const second = theLiveSource();
    expect(topicsOf(second)).toEqual(['a', 'c']);
    expect(second.param('shared')).toBe('1');
    expect(second.param('lastEventId')).toBe('100-1');

    // The server replays from its history with some overlap, then goes on.
    second.open();
    second.emit('update', { n: 2 }, '100-1');
    second.emitRaw('update', tagged('c', { n: 3 }), '100-2');
    second.emitRaw('update', tagged('a', { n: 4 }), '100-3');
    second.emit('update', { n: 5 }, '100-4');
    await settle();
    expect(a.updates).toEqual([
      [1, '100-0'],
      [2, '100-1'],
      [4, '100-3'],
      [5, '100-4'],
    ]);
    expect(plain.updates).toEqual([
      [2, '100-1'],
      [5, '100-4'],
    ]);
    expect(c.updates).toEqual([
      [2, '100-1'],
      [3, '100-2'],
      [5, '100-4'],
    ]);
    // A topic change is the leader's business: nobody saw the stream go down.
    expect(a.statuses).toEqual([['open', 'opened']]);
    expect(plain.statuses).toEqual([['open', 'opened']]);
  });

  it('does not reconnect for a member whose topics the stream already has', async () => {
    join('a', { topics: ['a', 'b'] });
    await settle();
    theLiveSource().open();
    join('b', { topics: ['b'] });
    join('plain');
    await settle();
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('costs one reconnect for members that join with new topics together', async () => {
    join('a', { topics: ['a'] });
    await settle();
    theLiveSource().open();
    theLiveSource().emitRaw('update', tagged('a', { n: 1 }), '100-0');
    join('b', { topics: ['b'] });
    join('c', { topics: ['c'] });
    await settle();
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(topicsOf(theLiveSource())).toEqual(['a', 'b', 'c']);
    expect(theLiveSource().param('lastEventId')).toBe('100-0');
  });

  it('rewinds the stream for a member that joins behind it, and the others skip the repeats', async () => {
    const a = join('a');
    await settle();
    const first = theLiveSource();
    first.open();
    first.emit('update', { n: 1 }, '100-0');
    first.emit('update', { n: 2 }, '100-1');
    first.emit('update', { n: 3 }, '100-2');
    await settle();
    // A reloaded tab resuming from where it was.
    const reloaded = join('reloaded', { lastEventId: '100-0' });
    await settle();
    const second = theLiveSource();
    expect(second).not.toBe(first);
    expect(second.param('lastEventId')).toBe('100-0');
    second.open();
    second.emit('update', { n: 2 }, '100-1');
    second.emit('update', { n: 3 }, '100-2');
    second.emit('update', { n: 4 }, '100-3');
    await settle();
    expect(a.updates.map(([n]) => n)).toEqual([1, 2, 3, 4]);
    expect(reloaded.updates.map(([n]) => n)).toEqual([2, 3, 4]);
  });

  it('relays events without an id to every client', async () => {
    const [a, b] = [join('a'), join('b')];
    await settle();
    theLiveSource().open();
    theLiveSource().emit('update', { n: 1 });
    theLiveSource().emit('update', { n: 2 });
    await settle();
    expect(a.updates).toEqual([
      [1, ''],
      [2, ''],
    ]);
    expect(b.updates).toEqual(a.updates);
  });

  it('makes the leader listen to an event type a member handles later', async () => {
    const leader = join('leader');
    const follower = join('follower');
    await settle();
    const source = theLiveSource();
    source.open();
    expect(source.listenerCount('custom')).toBe(0);

    const seen: Array<[string, number]> = [];
    follower.client.on('custom', (data) => void seen.push(['follower', data.x]));
    await settle();
    expect(source.listenerCount('custom')).toBe(1);
    source.emit('custom', { x: 1 }, '100-0');
    await settle();
    expect(seen).toEqual([['follower', 1]]);

    // The leader's own new handler, and a type added by both: one listener each.
    leader.client.on('custom', (data) => void seen.push(['leader', data.x]));
    leader.client.on('other', () => undefined);
    follower.client.on('other', () => undefined);
    await settle();
    expect(source.listenerCount('custom')).toBe(1);
    expect(source.listenerCount('other')).toBe(1);
    source.emit('custom', { x: 2 }, '100-1');
    await settle();
    expect(seen).toEqual([
      ['follower', 1],
      ['leader', 2],
      ['follower', 2],
    ]);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('keeps the stream for the others when a follower closes', async () => {
    const [a, b, c] = [join('a'), join('b'), join('c')];
    await settle();
    theLiveSource().open();
    b.client.close();
    await settle();
    theLiveSource().emit('update', { n: 1 }, '100-0');
    await settle();
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(a.updates).toHaveLength(1);
    expect(c.updates).toHaveLength(1);
    expect(b.updates).toHaveLength(0);
    expect(b.statuses.at(-1)).toEqual(['closed', 'closed']);
  });
});

describe('SseClient share: topics coming and going', () => {
  it('does not tell a member the stream is open before it carries its topics', async () => {
    join('a', { topics: ['a'] });
    await settle();
    theLiveSource().open();
    const c = join('c', { topics: ['c'] });
    await settle();
    expect(c.client.status).toBe('connecting');
    const second = theLiveSource();
    expect(topicsOf(second)).toEqual(['a', 'c']);
    second.open();
    await settle();
    expect(c.statuses).toEqual([['open', 'opened']]);
  });

  it('drops the topic of a member that leaves: one reconnect without it, resuming', async () => {
    const a = join('a', { topics: ['a'] });
    const b = join('b', { topics: ['b'] });
    await settle();
    const first = theLiveSource();
    expect(topicsOf(first)).toEqual(['a', 'b']);
    first.open();
    first.emitRaw('update', tagged('b', { n: 1 }), '100-0');
    await settle();
    b.client.close();
    // The stream restarted for b a moment ago: the next restart waits its turn.
    await settle(SSE_SHARE_TIMINGS.restartMinIntervalMs);
    // a's own stream, a's and b's, a's again.
    expect(FakeEventSource.instances).toHaveLength(3);
    const second = theLiveSource();
    expect(topicsOf(second)).toEqual(['a']);
    expect(second.param('lastEventId')).toBe('100-0');
    expect(a.statuses).toEqual([['open', 'opened']]);
  });

  it('sends a member whose new topic got the shared stream refused to a stream of its own; the others go on without it', async () => {
    const a = join('a', { topics: ['a'] });
    await settle();
    const first = theLiveSource();
    first.open();
    first.emitRaw('update', tagged('a', { n: 1 }), '100-0');
    const secret = join('secret', { topics: ['secret'] });
    await settle();
    const second = theLiveSource();
    expect(topicsOf(second)).toEqual(['a', 'secret']);
    // A browser's EventSource is refused without a status code: the leader asks the URL (HEAD).
    const probes: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (url: string, init?: RequestInit) => {
      probes.push(`${init?.method} ${new URL(url, 'http://x').searchParams.getAll('topic').join(',')}`);
      return { status: 403 } as Response;
    }) as typeof fetch;
    try {
      second.fail();
      // The stream restarted for `secret` a moment ago: the restart without it waits its turn.
      await settle(SSE_SHARE_TIMINGS.restartMinIntervalMs);
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(probes).toEqual(['HEAD a,secret']);
    expect(secret.client.shareRole).toBe('none');
    expect(secret.roles).toEqual(['none']);
    const sources = live();
    expect(sources).toHaveLength(2);
    const own = sources.find((source) => topicsOf(source).includes('secret'))!;
    expect(topicsOf(own)).toEqual(['secret']);
    expect(own.param('shared')).toBeNull();
    const shared = sources.find((source) => source !== own)!;
    expect(topicsOf(shared)).toEqual(['a']);
    expect(shared.param('lastEventId')).toBe('100-0');
    expect(a.client.shareRole).toBe('leader');
    // The refusal shows (the leader's stream was refused) until the stream without the topic opens.
    expect(a.statuses).toEqual([
      ['open', 'opened'],
      ['reconnecting', 'refused'],
    ]);
  });

  it("stops retrying a stream refused (403) for a member's topic while the stream without it waits for its turn: the leader does not give up", async () => {
    const quick = { backoff: { initialMs: 100, maxMs: 100, factor: 1, jitter: 0 }, maxRecoveries: 2 };
    const a = join('a', { topics: ['a'], ...quick });
    await settle();
    theLiveSource().open();
    theLiveSource().emitRaw('update', tagged('a', { n: 1 }), '100-0');
    join('secret', { topics: ['secret'] });
    await settle();
    const second = theLiveSource();
    expect(topicsOf(second)).toEqual(['a', 'secret']);
    const realFetch = globalThis.fetch;
    globalThis.fetch = async () => ({ status: 403 }) as Response;
    const shared = () => live().filter((source) => source.param('shared') === '1');
    try {
      second.fail();
      // Within the second the next restart waits for, a's own retries (every 100 ms, two at
      // most, each refused as the server would) would have given up.
      for (let waited = 0; waited < SSE_SHARE_TIMINGS.restartMinIntervalMs; waited += 50) {
        for (const retry of shared()) if (topicsOf(retry).includes('secret')) retry.fail();
        await settle(50);
      }
      expect(shared().map(topicsOf)).toEqual([['a']]);
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(a.statuses.map(([status]) => status)).not.toContain('error');
    expect(a.client.shareRole).toBe('leader');
  });

  it('keeps everyone on the shared stream when the refusal is not a 403 (the HEAD answers 401): the stream recovers as usual', async () => {
    const a = join('a', { topics: ['a'] });
    await settle();
    theLiveSource().open();
    const other = join('other', { topics: ['b'] });
    await settle();
    const second = theLiveSource();
    expect(topicsOf(second)).toEqual(['a', 'b']);
    const realFetch = globalThis.fetch;
    globalThis.fetch = async () => ({ status: 401 }) as Response;
    try {
      second.fail();
      await settle(NO_JITTER.initialMs);
    } finally {
      globalThis.fetch = realFetch;
    }
    expect([a.client.shareRole, other.client.shareRole]).toEqual(['leader', 'follower']);
    const third = theLiveSource();
    expect(topicsOf(third)).toEqual(['a', 'b']);
  });

  it(`sends the members whose topics do not fit in one stream (${SSE_LIMITS.topicsPerStream}) to streams of their own, newest first`, async () => {
    const topicsFrom = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}/${i}`);
    const first = join('first', { topics: topicsFrom('x', 8) });
    await settle(2);
    const second = join('second', { topics: topicsFrom('y', 8) });
    await settle(2);
    const third = join('third', { topics: topicsFrom('z', 8) });
    await settle();
    await settle();
    expect([first.client.shareRole, second.client.shareRole, third.client.shareRole]).toEqual([
      'leader',
      'follower',
      'none',
    ]);
    const sources = live();
    expect(sources).toHaveLength(2);
    const shared = sources.find((source) => source.param('shared') === '1')!;
    expect(topicsOf(shared)).toEqual([...topicsFrom('x', 8), ...topicsFrom('y', 8)].sort());
    const own = sources.find((source) => source !== shared)!;
    expect(topicsOf(own)).toEqual(topicsFrom('z', 8));
  });

  it('reports the share role: the first client leads, the next one when it leaves', async () => {
    const [a, b, c] = [join('a'), join('b'), join('c')];
    await settle();
    expect([a.roles, b.roles, c.roles]).toEqual([['leader'], [], []]);
    a.client.close();
    await settle();
    // a closed client's role is none, and closing reports no change of role.
    expect([a.roles, b.roles, c.roles]).toEqual([['leader'], ['leader'], []]);
    expect(a.client.shareRole).toBe('none');
  });
});

describe('SseClient share: status and errors', () => {
  it("mirrors the leader's stream status on every client: dropped, reopened, refused", async () => {
    const [a, b] = [join('a'), join('b')];
    await settle();
    const source = theLiveSource();
    source.open();
    source.emit('update', { n: 1 }, '100-0');
    source.drop();
    await settle();
    for (const m of [a, b]) expect(m.client.status).toBe('reconnecting');
    source.open();
    source.fail(503);
    await settle();
    for (const m of [a, b]) {
      expect(m.statuses).toEqual([
        ['open', 'opened'],
        ['reconnecting', 'dropped'],
        ['open', 'opened'],
        ['reconnecting', 'refused'],
      ]);
      expect(m.errors.map((e) => [e.code, e.httpStatus])).toEqual([['connection', 503]]);
      expect(m.client.error?.httpStatus).toBe(503);
    }
    // The leader's recovery: one replacement, after the backoff, resuming.
    await settle(999);
    expect(FakeEventSource.instances).toHaveLength(1);
    await settle(1);
    expect(FakeEventSource.instances).toHaveLength(2);
    const replacement = theLiveSource();
    expect(replacement.param('lastEventId')).toBe('100-0');
    replacement.open();
    await settle();
    for (const m of [a, b]) {
      expect(m.client.status).toBe('open');
      expect(m.client.error).toBeUndefined();
    }
  });

  it('renews the token once, in the leader, on auth-expired; every client hears of it', async () => {
    const getTokens = [jest.fn(async () => 'tok-a'), jest.fn(async () => 'tok-b'), jest.fn(async () => 'tok-c')];
    const [a, b, c] = [
      join('a', { getToken: getTokens[0] }),
      join('b', { getToken: getTokens[1] }),
      join('c', { getToken: getTokens[2] }),
    ];
    await settle();
    expect(roles()).toEqual(['a:leader', 'b:follower', 'c:follower']);
    const source = theLiveSource();
    expect(source.param('token')).toBe('tok-1');
    source.open();
    source.emit('update', { n: 1 }, '100-0');
    source.emit('auth-expired', { reason: 'expired' });
    await settle();
    for (const m of [a, b, c]) {
      expect(m.authExpired).toEqual(['expired']);
      expect(m.client.status).toBe('reconnecting');
      expect(m.client.statusReason).toBe('auth-expired');
    }
    expect(source.closedByClient).toBe(true);

    await settle(NO_JITTER.initialMs);
    expect(getTokens.map((fn) => fn.mock.calls.length)).toEqual([1, 0, 0]);
    expect(FakeEventSource.instances).toHaveLength(2);
    const renewed = theLiveSource();
    expect(renewed.param('token')).toBe('tok-a');
    expect(renewed.param('lastEventId')).toBe('100-0');
    renewed.open();
    await settle();
    for (const m of [a, b, c]) {
      expect(m.client.status).toBe('open');
      expect(m.authExpired).toEqual(['expired']);
    }
  });

  it('puts every client in error when the leader gives up (getToken resolves null)', async () => {
    const [a, b, c] = [join('a', { getToken: async () => null }), join('b'), join('c')];
    await settle();
    const source = theLiveSource();
    source.open();
    source.fail(401);
    await settle(NO_JITTER.initialMs);
    for (const m of [a, b, c]) {
      expect(m.client.status).toBe('error');
      expect(m.client.statusReason).toBe('no-session');
    }
    expect(live()).toHaveLength(0);
    // Nobody takes the stream up again.
    await settle(SSE_SHARE_TIMINGS.forgetAfterMs);
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(roles().filter((role) => role.endsWith(':leader'))).toEqual([]);
  });

  // The give-up error travels with the leader's `error` status: mirroring it stops each member's share.
  it('reports the give-up error (onError, client.error) to every client, as an unshared client does', async () => {
    const alone = createSseClient<TestEvents>(URL_A, {
      token: 'tok-1',
      backoff: NO_JITTER,
      EventSource: FakeEventSource,
      share: false,
      getToken: async () => null,
    });
    FakeEventSource.latest.fail(401);
    await settle(NO_JITTER.initialMs);
    expect(alone.status).toBe('error');
    expect(alone.error?.code).toBe('token');
    alone.close();
    FakeEventSource.reset();

    const [a, b] = [join('a', { getToken: async () => null }), join('b')];
    await settle();
    theLiveSource().open();
    theLiveSource().fail(401);
    await settle(NO_JITTER.initialMs);
    for (const m of [a, b]) {
      expect(m.client.status).toBe('error');
      expect(m.errors.map((e) => e.code)).toEqual(['connection', 'token']);
      expect(m.client.error?.code).toBe('token');
    }
  });
});

describe('SseClient share: authentication refused', () => {
  it("stops every member with the leader's unauthorized (the server's reason) after maxAuthFailures 401s with fresh tokens", async () => {
    const realFetch = globalThis.fetch;
    const heads: string[] = [];
    // What the stream URL answers a HEAD: 401, naming why (a browser's EventSource does not say).
    globalThis.fetch = (async (url: string, init?: RequestInit) => {
      heads.push(`${init?.method} ${new URL(url, 'http://x').searchParams.get('token')}`);
      return new Response(null, { status: 401, headers: { 'SSE-Auth-Reason': 'revoked' } });
    }) as typeof fetch;
    try {
      let issued = 0;
      const getToken = async () => `fresh-${++issued}`;
      const [a, b] = [join('a', { getToken }), join('b', { getToken })];
      await settle();
      theLiveSource().open();
      await settle();
      for (let failure = 1; failure <= 3; failure += 1) {
        theLiveSource().fail();
        await settle(NO_JITTER.maxMs);
      }
      expect(live()).toHaveLength(0);
      expect(heads).toEqual(['HEAD tok-1', 'HEAD fresh-1', 'HEAD fresh-2']);
      for (const m of [a, b]) {
        expect(m.client.status).toBe('unauthorized');
        expect(m.client.statusReason).toBe('unauthorized');
        expect(m.statuses.at(-1)).toEqual(['unauthorized', 'unauthorized']);
        expect(m.client.error).toMatchObject({ code: 'unauthorized', reason: 'revoked', httpStatus: 401 });
        expect(m.errors.at(-1)).toMatchObject({ code: 'unauthorized', reason: 'revoked' });
        expect(m.client.shareRole).toBe('none');
      }
      // Nobody tries again, however long the page stays.
      await settle(NO_JITTER.maxMs * 4);
      expect(FakeEventSource.instances).toHaveLength(3);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});

describe('SseClient share: hand-over', () => {
  it('hands the stream to another client when the leader closes, resuming from the newest id, without repeats', async () => {
    const [a, b, c] = [join('a'), join('b'), join('c')];
    await settle();
    const first = theLiveSource();
    first.open();
    first.emit('update', { n: 1 }, '100-0');
    first.emit('update', { n: 2 }, '100-1');
    await settle();

    a.client.close();
    await settle();
    expect(first.closedByClient).toBe(true);
    expect([b.client.shareRole, c.client.shareRole]).toEqual(['leader', 'follower']);
    // A hand-over is not a reconnect for the page: the members stay open.
    for (const m of [b, c]) expect(m.statuses).toEqual([['open', 'opened']]);
    const second = theLiveSource();
    expect(second.param('lastEventId')).toBe('100-1');
    expect(second.param('token')).toBe('tok-1');

    second.open();
    second.emit('update', { n: 1 }, '100-0');
    second.emit('update', { n: 2 }, '100-1');
    second.emit('update', { n: 3 }, '100-2');
    await settle();
    for (const m of [b, c]) {
      expect(m.updates.map(([n]) => n)).toEqual([1, 2, 3]);
      expect(m.client.status).toBe('open');
      expect(m.statuses).toEqual([['open', 'opened']]);
    }
    expect(a.updates.map(([n]) => n)).toEqual([1, 2]);
    expect(FakeEventSource.instances).toHaveLength(2);
  });

  it('shows reconnecting only when a hand-over takes longer than handOverMs, then open', async () => {
    const [a, b, c] = [join('a'), join('b'), join('c')];
    await settle();
    theLiveSource().open();
    await settle();
    a.client.close();
    await settle(SSE_SHARE_TIMINGS.handOverMs - 100);
    for (const m of [b, c]) expect(m.statuses).toEqual([['open', 'opened']]);
    // The new leader's stream has not opened: past the bound, the stream is down for the page.
    await settle(100);
    for (const m of [b, c])
      expect(m.statuses).toEqual([
        ['open', 'opened'],
        ['reconnecting', 'dropped'],
      ]);
    theLiveSource().open();
    await settle();
    for (const m of [b, c])
      expect(m.statuses).toEqual([
        ['open', 'opened'],
        ['reconnecting', 'dropped'],
        ['open', 'opened'],
      ]);
  });

  it("resumes from the shared stream's opening (its connected event) when the leader goes before any event", async () => {
    const [a, b] = [join('a'), join('b')];
    await settle();
    const first = theLiveSource();
    first.open();
    // What a `?shared=1` stream opens with: its position, as an event.
    first.emit('connected', null, '200-0');
    await settle();
    // Its id is where the stream stands (maybe another user's newest event), not an event of theirs.
    expect([a.client.lastEventId, b.client.lastEventId]).toEqual([undefined, undefined]);

    a.client.close();
    await settle();
    expect(b.client.shareRole).toBe('leader');
    expect(theLiveSource().param('lastEventId')).toBe('200-0');
  });

  it("a reset (whose id is the opening's) reaches every member's onReset after the connected event", async () => {
    const resets: string[] = [];
    const onReset = ({ reason }: { reason: string }) => void resets.push(reason);
    const [a, b] = [join('a', { lastEventId: 'not-an-id', onReset }), join('b', { onReset })];
    await settle();
    const first = theLiveSource();
    expect(first.param('lastEventId')).toBe('not-an-id');
    first.open();
    first.emit('connected', null, '400-0');
    first.emit('reset', { reason: 'malformed-id' }, '400-0');
    await settle();
    expect(resets).toEqual(['malformed-id', 'malformed-id']);
    expect([a.client.lastEventId, b.client.lastEventId]).toEqual(['400-0', '400-0']);
  });

  it('a reset on a stream rewound for a member that joined behind it goes to that member only; the others catch up at once from where they stood', async () => {
    const resets: string[] = [];
    const onReset = (name: string) => ({
      onReset: ({ reason }: { reason: string }) => void resets.push(`${name}:${reason}`),
    });
    const [a, b] = [join('a', onReset('a')), join('b', onReset('b'))];
    await settle();
    const first = theLiveSource();
    first.open();
    first.emit('update', { n: 1 }, '500-0');
    first.emit('update', { n: 2 }, '500-1');
    await settle();
    const c = join('c', { ...onReset('c'), lastEventId: '400-0' });
    await settle();
    const rewound = theLiveSource();
    expect(rewound.param('lastEventId')).toBe('400-0');
    // n:3 (500-2) was published while it connected. Too old to resume from: the server opens
    // at the present and resets, as it does (connected and reset at the same id).
    rewound.open();
    rewound.emit('connected', null, '500-2');
    rewound.emit('reset', { reason: 'too-old' }, '500-2');
    rewound.emit('update', { n: 4 }, '500-3');
    await settle();
    expect(resets).toEqual(['c:too-old']);
    // a and b stood at 500-1: a stream resuming there replaces the reset one at once.
    const catchUp = theLiveSource();
    expect(catchUp).not.toBe(rewound);
    expect(catchUp.param('lastEventId')).toBe('500-1');
    catchUp.open();
    catchUp.emit('connected', null, '500-1');
    catchUp.emit('update', { n: 3 }, '500-2');
    catchUp.emit('update', { n: 4 }, '500-3');
    await settle();
    for (const m of [a, b]) expect(m.updates.map(([n]) => n)).toEqual([1, 2, 3, 4]);
    expect(c.updates.map(([n]) => n)).toEqual([4]);
    expect(resets).toEqual(['c:too-old']);
  });

  it('a reset after a rewound stream brought its first event (the server lost history) goes to every member', async () => {
    const resets: string[] = [];
    const onReset = (name: string) => ({
      onReset: ({ reason }: { reason: string }) => void resets.push(`${name}:${reason}`),
    });
    const [a, b] = [join('a', onReset('a')), join('b', onReset('b'))];
    await settle();
    theLiveSource().open();
    theLiveSource().emit('update', { n: 1 }, '500-0');
    theLiveSource().emit('update', { n: 2 }, '500-1');
    await settle();
    const c = join('c', { ...onReset('c'), lastEventId: '500-0' });
    await settle();
    const rewound = theLiveSource();
    expect(rewound.param('lastEventId')).toBe('500-0');
    rewound.open();
    rewound.emit('connected', null, '500-0');
    rewound.emit('update', { n: 2 }, '500-1');
    rewound.emit('reset', { reason: 'history-lost' }, '600-0');
    rewound.emit('update', { n: 3 }, '600-1');
    await settle();
    expect(resets.sort()).toEqual(['a:history-lost', 'b:history-lost', 'c:history-lost']);
    expect(live()).toEqual([rewound]);
    for (const m of [a, b]) expect(m.updates.map(([n]) => n)).toEqual([1, 2, 3]);
    expect(c.updates.map(([n]) => n)).toEqual([2, 3]);
  });

  it("a member that joined after the opening learns the stream's position from the leader's status, and resumes from it", async () => {
    const a = join('a');
    await settle();
    const first = theLiveSource();
    first.open();
    first.emit('connected', null, '300-0');
    await settle();
    const b = join('b');
    await settle();
    expect(b.client.status).toBe('open');
    expect(b.client.lastEventId).toBeUndefined();

    a.client.close();
    await settle();
    expect(b.client.shareRole).toBe('leader');
    expect(theLiveSource().param('lastEventId')).toBe('300-0');
  });

  it('resumes from the newest id any member saw, when the new leader saw fewer events (other topics)', async () => {
    const a = join('a', { topics: ['a'] });
    const b = join('b', { topics: ['b'] });
    const c = join('c', { topics: ['a'] });
    await settle();
    const first = theLiveSource();
    first.open();
    first.emitRaw('update', tagged('b', { n: 1 }), '100-0');
    first.emitRaw('update', tagged('a', { n: 2 }), '100-1');
    await settle(SSE_SHARE_TIMINGS.keepAliveMs); // c's keep-alive carries its last id
    a.client.close();
    await settle();
    expect(b.client.shareRole).toBe('leader');
    const second = theLiveSource();
    expect(topicsOf(second)).toEqual(['a', 'b']);
    expect(second.param('lastEventId')).toBe('100-1');
    second.open();
    second.emitRaw('update', tagged('a', { n: 3 }), '100-2');
    await settle();
    expect(c.updates.map(([n]) => n)).toEqual([2, 3]);
    expect(b.updates.map(([n]) => n)).toEqual([1]);
  });

  it('takes over from a leader whose tab froze without a word (lease election), resuming from the last id', async () => {
    const share = { BroadcastChannel: hub.BroadcastChannel, locks: null, leaseMs: 300 };
    // A ms apart: member ids sort by creation time, and the oldest wins the lease election
    // (ids made in the same ms sort at random).
    const a = join('a', {}, share);
    await jest.advanceTimersByTimeAsync(1);
    const b = join('b', {}, share);
    await jest.advanceTimersByTimeAsync(1);
    const c = join('c', {}, share);
    await settle(200);
    expect(roles()).toEqual(['a:leader', 'b:follower', 'c:follower']);
    const first = theLiveSource();
    first.open();
    first.emit('update', { n: 1 }, '100-0');
    await settle();
    expect(c.updates).toHaveLength(1);

    // a's tab freezes: neither its share nor its election channel carries anything.
    expect(a.channels.map((channel) => channel.name.endsWith('#election'))).toEqual([false, true]);
    for (const channel of a.channels) channel.muted = true;
    // Unheard for leaseMs, noticed within a third of it, then a claim of 150 ms.
    await settle(300 + 100 + 150 + 10);
    expect(b.client.shareRole).toBe('leader');
    const second = live().find((source) => source !== first)!;
    expect(second.param('lastEventId')).toBe('100-0');
    second.open();
    second.emit('update', { n: 1 }, '100-0');
    second.emit('update', { n: 2 }, '100-1');
    await settle();
    expect(b.updates.map(([n]) => n)).toEqual([1, 2]);
    expect(c.updates.map(([n]) => n)).toEqual([1, 2]);
  });
});

describe('SseClient share: who shares', () => {
  it('gives every client its own stream with share: false', async () => {
    for (const name of ['a', 'b', 'c']) join(name, {}, false);
    await settle();
    expect(FakeEventSource.instances).toHaveLength(3);
    expect(roles()).toEqual(['a:none', 'b:none', 'c:none']);
    expect(hub.channels).toHaveLength(0);
  });

  it('gives every client its own stream without a BroadcastChannel', async () => {
    for (const name of ['a', 'b']) join(name, {}, { BroadcastChannel: null, locks });
    await settle();
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(roles()).toEqual(['a:none', 'b:none']);
  });

  it('does not share by default outside a page (Node: no document)', async () => {
    // `share` left out (the helper's default is the hub): `share: undefined` overrides it.
    for (const name of ['a', 'b']) join(name, { share: undefined });
    await settle();
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(roles()).toEqual(['a:none', 'b:none']);
  });

  it('shares one stream per key, and per URL', async () => {
    const opts = (key: string | undefined): SseShareOptions => ({ BroadcastChannel: hub.BroadcastChannel, locks, key });
    const u1 = [join('u1-1', {}, opts('user-1')), join('u1-2', {}, opts('user-1'))];
    const u2 = [join('u2-1', {}, opts('user-2')), join('u2-2', {}, opts('user-2'))];
    const other = [
      join('o-1', {}, opts(undefined), '/other/events'),
      join('o-2', {}, opts(undefined), '/other/events'),
    ];
    await settle();
    expect(FakeEventSource.instances).toHaveLength(3);
    expect(roles().filter((r) => r.endsWith(':leader'))).toEqual(['u1-1:leader', 'u2-1:leader', 'o-1:leader']);
    const [s1, s2, s3] = FakeEventSource.instances;
    s1.emit('update', { n: 1 }, '100-0');
    s2.emit('update', { n: 2 }, '100-0');
    s3.emit('update', { n: 3 }, '100-0');
    await settle();
    expect(u1.map((m) => m.updates.map(([n]) => n))).toEqual([[1], [1]]);
    expect(u2.map((m) => m.updates.map(([n]) => n))).toEqual([[2], [2]]);
    expect(other.map((m) => m.updates.map(([n]) => n))).toEqual([[3], [3]]);
  });

  it('leaves no timer and no open channel once every client closed', async () => {
    for (const name of ['a', 'b', 'c']) join(name);
    await settle();
    theLiveSource().open();
    for (const m of members) m.client.close();
    await settle();
    expect(hub.open()).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
    expect(live()).toHaveLength(0);
    expect(locks.state(hub.channels[0].name)).toEqual({ held: false, waiting: 0 });
  });
});

/**
 * Any script of the origin can post on the group's channel. What it
 * posts is checked with the wire rules and acted on only when it comes from the leader
 * the member verified (status, events, errors, solo); a member's needs are checked too,
 * and the reconnects they can cause are coalesced. A forger here is a channel of the
 * group's name that is no member.
 */
describe('SseClient share: messages nobody should trust', () => {
  /** Well-formed member ids that no member has ('000…' sorts before every real one). */
  const FORGED = '000000000-forged00';
  const FORGED_2 = 'zzzzzzzzz-forged01';
  const shareChannelName = (): string => hub.channels.find((channel) => !channel.name.endsWith('#election'))!.name;
  const forger = (): FakeChannel => new hub.BroadcastChannel(shareChannelName()) as FakeChannel;
  /** The member id the leader goes by: the one its roll-call carries. */
  const leaderId = (): string => (hub.messages('roll-call').at(-1) as { from: string }).from;
  const statsOf = (m: Member) => m.client.shareStats;

  async function openGroup(): Promise<[Member, Member, Member, FakeEventSource]> {
    const group = [join('a'), join('b'), join('c')] as const;
    await settle();
    const source = theLiveSource();
    source.open();
    source.emit('update', { n: 1 }, '100-0');
    await settle();
    for (const m of group) expect(m.updates.map(([n]) => n)).toEqual([1]);
    return [...group, source];
  }

  it("ignores a member asking for a topic that is not one ({kind:'member', topics:['not a topic!']}): the leader keeps its stream, every tab its events", async () => {
    const [a, b, c, source] = await openGroup();
    const forged = forger();
    // As the issue posted it, then complete, from a well-formed id.
    forged.postMessage({ kind: 'member', topics: ['not a topic!'] });
    forged.postMessage({
      kind: 'member',
      from: FORGED,
      join: true,
      topics: ['not a topic!'],
      types: [],
      lastEventId: undefined,
    });
    await settle(SSE_SHARE_TIMINGS.keepAliveMs);
    expect(theLiveSource()).toBe(source);
    source.emit('update', { n: 2 }, '100-1');
    await settle();
    for (const m of [a, b, c]) {
      expect(m.updates.map(([n]) => n)).toEqual([1, 2]);
      expect(m.client.status).toBe('open');
      expect(m.errors).toEqual([]);
      expect(statsOf(m).malformedMessages).toBe(2);
    }
    // A well-formed sender of a topic the stream cannot carry is told to go solo: it is no one here.
    expect(hub.messages('solo')).toEqual([{ kind: 'solo', from: leaderId(), members: [FORGED] }]);
  });

  it("keeps followers open when a status 'error' comes from anyone but their leader", async () => {
    const [a, b, c, source] = await openGroup();
    const forged = forger();
    const error = { code: 'gave-up', message: 'forged: give up', httpStatus: undefined };
    forged.postMessage({ kind: 'status', status: 'error', reason: 'gave-up', topics: [], position: undefined, error });
    forged.postMessage({
      kind: 'status',
      from: FORGED,
      status: 'error',
      reason: 'gave-up',
      topics: [],
      position: undefined,
      error,
    });
    forged.postMessage({ kind: 'error', from: FORGED, ...error });
    await settle();
    source.emit('update', { n: 2 }, '100-1');
    await settle();
    for (const m of [a, b, c]) {
      expect(m.statuses).toEqual([['open', 'opened']]);
      expect(m.errors).toEqual([]);
      expect(m.updates.map(([n]) => n)).toEqual([1, 2]);
    }
    expect(roles()).toEqual(['a:leader', 'b:follower', 'c:follower']);
    for (const m of [b, c]) expect(statsOf(m)).toMatchObject({ malformedMessages: 1, untrustedMessages: 2 });
  });

  it("takes no unauthorized status, even in the leader's name, whose reason is not a 401 category (it could carry anything)", async () => {
    const [a, b, c, source] = await openGroup();
    const forged = forger();
    const error = { code: 'unauthorized', message: 'forged', httpStatus: 401, reason: 'Bearer eyJhbGciOiJIUzI1NiJ9' };
    forged.postMessage({
      kind: 'status',
      from: leaderId(),
      status: 'unauthorized',
      reason: 'unauthorized',
      topics: [],
      position: undefined,
      error,
    });
    await settle();
    source.emit('update', { n: 2 }, '100-1');
    await settle();
    for (const m of [a, b, c]) {
      expect(m.statuses).toEqual([['open', 'opened']]);
      expect(m.updates.map(([n]) => n)).toEqual([1, 2]);
    }
    for (const m of [b, c])
      expect(statsOf(m)).toMatchObject({
        malformedMessages: 1,
        lastIgnored: expect.stringMatching(/reason is not a 401 category/),
      });
  });

  it("shows no event with an absurd id (9999999999999-0), from a stranger or in the leader's name, and drops no real event after it", async () => {
    const [a, b, c, source] = await openGroup();
    const forged = forger();
    const absurd = { type: 'update', data: JSON.stringify({ n: 999 }), id: '9999999999999-0', topic: undefined };
    forged.postMessage({ kind: 'event', from: FORGED, event: absurd });
    // In the leader's own name (a script can read it off the channel): the id is far ahead of any stream, not trusted.
    forged.postMessage({ kind: 'event', from: leaderId(), event: absurd });
    await settle();
    source.emit('update', { n: 2 }, '100-1');
    source.emit('update', { n: 3 }, '100-2');
    await settle();
    for (const m of [a, b, c]) {
      expect(m.updates.map(([n]) => n)).toEqual([1, 2, 3]);
      expect(m.client.lastEventId).toBe('100-2');
    }
    // An id no stream can have reached is refused as malformed, whoever sends it.
    for (const m of [b, c]) expect(statsOf(m).malformedMessages).toBe(2);
  });

  it(`coalesces the reconnects members can cause to one per ${SSE_SHARE_TIMINGS.restartMinIntervalMs} ms: a script re-joining every 20 ms for 5 s, behind the stream and with a topic that comes and goes, costs one a second, and no event is lost`, async () => {
    const server = new FakeServer();
    const [a, b, c] = [join('a'), join('b'), join('c')];
    await settle();
    server.serve();
    const forged = forger();
    const startedAt = Date.now();
    for (let step = 0; step < 250; step += 1) {
      // Each of these asked for a reconnect: a topic added or dropped, a member behind the
      // stream (from an id the server cannot resume from: a reset, and the others catch up).
      forged.postMessage({
        kind: 'member',
        from: FORGED,
        join: true,
        topics: step % 2 === 0 ? ['feeds/x'] : [],
        types: [],
        lastEventId: '1-0',
      });
      // Published while a new stream may be connecting: it gets the event only by replay.
      await settle(10);
      if (step % 10 === 0) server.publish();
      await settle(10);
      server.serve();
    }
    await settle(2 * SSE_SHARE_TIMINGS.restartMinIntervalMs);
    server.serve();
    await settle();
    const seconds = Math.ceil((Date.now() - startedAt) / SSE_SHARE_TIMINGS.restartMinIntervalMs);
    // The first stream, one restart per second, and the one catch-up after the one rewind
    // (a member is rewound for once until it leaves).
    expect(FakeEventSource.instances.length).toBeLessThanOrEqual(1 + seconds + 1);
    for (const m of [a, b, c]) {
      expect(m.updates.map(([n]) => n)).toEqual(server.published());
      expect(m.client.status).toBe('open');
    }
  });

  it('a restart asked while a rewind is unanswered rewinds for the same member: the others never resume from its id, get no reset and miss nothing', async () => {
    const server = new FakeServer();
    const resets: string[] = [];
    const onReset = { onReset: ({ reason }: { reason: string }) => void resets.push(reason) };
    const [a, b] = [join('a', onReset), join('b', onReset)];
    await settle();
    server.serve();
    server.publish();
    await settle();
    const forged = forger();
    // Behind the stream, from an id the server did not issue: a rewind, answered with a reset.
    forged.postMessage({ kind: 'member', from: FORGED, join: true, topics: [], types: [], lastEventId: '1-0' });
    await settle();
    expect(theLiveSource().param('lastEventId')).toBe('1-0');
    // Before the server answers it, the same member asks for a topic: the next restart waits its turn.
    forged.postMessage({
      kind: 'member',
      from: FORGED,
      join: false,
      topics: ['feeds/x'],
      types: [],
      lastEventId: '1-0',
    });
    await settle();
    server.publish();
    for (let i = 0; i < 3; i += 1) {
      server.serve();
      await settle();
    }
    server.publish();
    await settle(SSE_SHARE_TIMINGS.restartMinIntervalMs);
    expect(topicsOf(theLiveSource())).toEqual(['feeds/x']);
    server.publish();
    for (let i = 0; i < 3; i += 1) {
      server.serve();
      await settle();
    }
    server.publish();
    await settle();
    for (const m of [a, b]) expect(m.updates.map(([n]) => n)).toEqual(server.published());
    expect(resets).toEqual([]);
  });

  it('ignores and counts malformed messages (not objects, missing or mistyped fields, huge arrays, oversize ids), and goes on', async () => {
    const [a, b, c, source] = await openGroup();
    const forged = forger();
    const huge = Array.from({ length: 100_000 }, () => 'x');
    const long = 'x'.repeat(100_000);
    const member = { kind: 'member', from: FORGED_2, join: true, topics: [], types: [], lastEventId: undefined };
    const event = { type: 'update', data: '{"n":999}', id: '100-5', topic: undefined };
    const status = {
      kind: 'status',
      from: FORGED_2,
      status: 'open',
      reason: 'opened',
      topics: [],
      position: undefined,
    };
    const malformed: unknown[] = [
      null,
      42,
      'member',
      [],
      {},
      { kind: 'nothing-we-know', from: FORGED_2 },
      { kind: 'member' },
      { ...member, from: 42 },
      { ...member, from: '' },
      { ...member, from: long },
      { ...member, join: 'yes' },
      { ...member, topics: 'feeds/a' },
      { ...member, topics: [42] },
      { ...member, topics: huge },
      { ...member, types: huge },
      { ...member, types: ['open'] },
      { ...member, types: ['not a type!'] },
      { ...member, types: 'update' },
      { ...member, lastEventId: long },
      { ...member, lastEventId: 42 },
      { ...member, lastEventId: '9999999999999-0' },
      { kind: 'bye', from: FORGED_2, leader: 'yes' },
      { kind: 'event', from: FORGED_2 },
      { kind: 'event', from: FORGED_2, event: { ...event, type: 42 } },
      { kind: 'event', from: FORGED_2, event: { ...event, data: { n: 999 } } },
      { kind: 'event', from: FORGED_2, event: { ...event, id: long } },
      { kind: 'event', from: FORGED_2, event: { ...event, topic: 'not a topic!' } },
      { kind: 'event', from: FORGED_2, event, only: 'a' },
      { kind: 'event', from: FORGED_2, event, only: huge },
      { ...status, status: 'weird' },
      { ...status, reason: 'because' },
      { ...status, topics: 'feeds/a' },
      { ...status, position: long },
      { ...status, error: 'str' },
      { ...status, error: { code: 'nope', message: 'x', httpStatus: undefined } },
      { kind: 'error', from: FORGED_2, code: 'connection', message: 42 },
      { kind: 'ping', from: FORGED_2, to: 42 },
      { kind: 'roll-call', from: 42 },
      { kind: 'pong' },
      { kind: 'solo', from: FORGED_2, members: 'abc' },
      { kind: 'solo', from: FORGED_2, members: [42] },
      { kind: 'solo', from: FORGED_2, members: huge },
    ];
    for (const message of malformed) forged.postMessage(message);
    await settle(SSE_SHARE_TIMINGS.keepAliveMs);
    source.emit('update', { n: 2 }, '100-1');
    await settle();
    for (const m of [a, b, c]) {
      expect(m.updates.map(([n]) => n)).toEqual([1, 2]);
      expect(m.statuses).toEqual([['open', 'opened']]);
      expect(m.errors).toEqual([]);
      expect(statsOf(m).malformedMessages).toBe(malformed.length);
    }
    expect(live()).toEqual([source]);
    expect(roles()).toEqual(['a:leader', 'b:follower', 'c:follower']);
  });

  it(`sends a member past ${SSE_SHARE_LIMITS.members} (a script inventing members) to a stream of its own; the others keep theirs`, async () => {
    const [a, b, c, source] = await openGroup();
    const forged = forger();
    // Two members are known already (each knows the other two); these fill the rest and more.
    for (let i = 0; i < SSE_SHARE_LIMITS.members; i += 1) {
      const from = `${i.toString(36).padStart(9, '0')}-forged00`;
      forged.postMessage({ kind: 'member', from, join: true, topics: [], types: [], lastEventId: undefined });
    }
    await settle();
    const late = join('late');
    await settle();
    expect(late.client.shareRole).toBe('none');
    expect(live()).toHaveLength(2);
    source.emit('update', { n: 2 }, '100-1');
    await settle();
    for (const m of [a, b, c]) expect(m.updates.map(([n]) => n)).toEqual([1, 2]);
    expect(roles().slice(0, 3)).toEqual(['a:leader', 'b:follower', 'c:follower']);
    expect(statsOf(a).untrustedMessages).toBeGreaterThan(0);
  });

  it(`opens its own stream when it handles more than ${SSE_SHARE_LIMITS.typesPerMember} event types (more than a member may ask for)`, async () => {
    const handlers = Object.fromEntries(
      Array.from({ length: SSE_SHARE_LIMITS.typesPerMember + 1 }, (_, i) => [`type${i}`, () => undefined]),
    ) as SseClientOptions<TestEvents>['handlers'];
    join('a');
    await settle();
    const many = join('many', { handlers });
    await settle();
    expect(many.client.shareRole).toBe('none');
    expect(live()).toHaveLength(2);
    expect(
      hub.messages('member').some((m) => (m as { types: string[] }).types.length > SSE_SHARE_LIMITS.typesPerMember),
    ).toBe(false);
  });

  it('follows no one who only claims to lead: a roll-call, events and solo from a stranger change nothing', async () => {
    const [a, b, c, source] = await openGroup();
    const forged = forger();
    const memberIds = [...new Set(hub.messages('member').map((m) => (m as { from: string }).from))];
    forged.postMessage({ kind: 'roll-call', from: FORGED });
    forged.postMessage({
      kind: 'event',
      from: FORGED,
      event: { type: 'update', data: '{"n":999}', id: '100-5', topic: undefined },
    });
    forged.postMessage({ kind: 'solo', from: FORGED, members: memberIds });
    forged.postMessage({ kind: 'bye', from: FORGED, leader: true });
    // The stranger is asked whether it leads (a ping); it never answers: waited the whole answer window.
    await settle(SSE_SHARE_TIMINGS.answerMs + SSE_SHARE_TIMINGS.watchMs);
    source.emit('update', { n: 2 }, '100-1');
    await settle();
    for (const m of [a, b, c]) {
      expect(m.updates.map(([n]) => n)).toEqual([1, 2]);
      expect(m.statuses).toEqual([['open', 'opened']]);
    }
    expect(roles()).toEqual(['a:leader', 'b:follower', 'c:follower']);
    expect(live()).toEqual([source]);
  });
});

/**
 * The server's part where the leader's stream is replaced: it keeps every event published
 * (ids `<now>-<n>`, as the server's), opens each new EventSource as a `?shared=1` stream opens,
 * replays what came after its `lastEventId` when it issued that id (an event's, or an
 * opening's), resets it otherwise, and sends each new event to the streams it opened.
 */
class FakeServer {
  private readonly log: Array<{ n: number; id: string }> = [];
  private readonly issued = new Set<string>();
  private readonly served = new Set<FakeEventSource>();

  published(): number[] {
    return this.log.map(({ n }) => n);
  }

  /** To the EventSources served so far: one still connecting gets it only by replay. */
  publish(): void {
    const n = this.log.length + 1;
    const id = `${Date.now()}-${n}`;
    this.log.push({ n, id });
    this.issued.add(id);
    for (const source of this.served) if (!source.closedByClient) source.emit('update', { n }, id);
  }

  /**
   * Opens the EventSources made since: a `connected` event at its position (the resumed id,
   * else the present), then what came after the resumed id, or, from an id this server did
   * not issue, a `reset` at the present.
   */
  serve(): void {
    for (const source of live()) {
      if (this.served.has(source)) continue;
      this.served.add(source);
      source.open();
      const present = this.log.at(-1)?.id ?? `${Date.now()}-0`;
      this.issued.add(present);
      const after = source.param('lastEventId');
      const resumes = after !== null && this.issued.has(after);
      source.emit('connected', null, resumes ? after : present);
      if (after === null) continue;
      if (!resumes) source.emit('reset', { reason: 'unknown-id' }, present);
      else for (const { n, id } of this.log) if (order(id) > order(after)) source.emit('update', { n }, id);
    }
  }
}

/** The order of one of the server's ids `<ms>-<seq>` (a bigint: ms * 1e6 would lose the seq to rounding). */
function order(id: string): bigint {
  const [ms, seq] = id.split('-').map(BigInt);
  return ms * 1_000_000n + seq;
}

/** Fixed, so a failure replays the same messages; `FUZZ_SEED=<n>` tries others. */
const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed21);

/** mulberry32 (as test/fuzz.e2e-spec.ts): a small seeded PRNG, floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Random {
  constructor(private readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  some<T>(items: readonly T[]): T[] {
    return Array.from({ length: this.int(4) }, () => this.pick(items));
  }
}

/**
 * Messages a script of the origin might post, well-formed or not, of every kind, from
 * strangers (never in a member's name: a same-origin script that impersonates the
 * leader can do what the leader can, see the README's threat model), except events in
 * the leader's name with ids no stream has reached.
 */
function forgedMessage(r: Random, memberIds: readonly string[], leader: string): unknown {
  const now = Date.now();
  const ids = [
    FORGED_IDS[0],
    FORGED_IDS[1],
    FORGED_IDS[2],
    `${now.toString(36)}-${r.int(1e6).toString(36).padStart(8, '0')}`,
  ];
  const from = r.chance(0.85) ? r.pick(ids) : r.pick([42, '', 'x'.repeat(300), undefined, 'NOT-AN-ID', null]);
  const topics = r.chance(0.05)
    ? Array.from({ length: 5_000 }, (_, i) => `t/${i}`)
    : r.some(['feeds/a', 'orders/1', 'x', 'not a topic!', '', 'a//b', 42, 'feeds/b']);
  const eventId = r.pick([
    undefined,
    '',
    '1-0',
    '100-0',
    `${now}-0`,
    `${now + 3_600_000}-0`,
    '9999999999999-0',
    'x'.repeat(200),
    'not an id',
    42,
  ]);
  const error = r.pick([
    undefined,
    { code: 'gave-up', message: 'forged', httpStatus: undefined },
    { code: 'nope' },
    'str',
    { code: 'connection', message: 'forged', httpStatus: 403 },
  ]);
  const event = {
    type: r.pick(['update', 'reset', 'auth-expired', 'heartbeat', 'connected', 'message', 'open', 'not a type!', 42]),
    data: r.pick(['{"n":-1}', 'null', 'not json', '{"reason":"too-old"}', 42]),
    id: eventId,
    topic: r.pick([undefined, 'feeds/a', 'not a topic!']),
  };
  switch (r.int(12)) {
    case 0:
    case 1:
      return {
        kind: 'member',
        from,
        join: r.pick([true, false, 'yes']),
        topics,
        types: r.chance(0.05)
          ? Array.from({ length: 5_000 }, (_, i) => `t${i}`)
          : r.some(['update', 'custom', 'open', 'error', 'not a type!', 7]),
        lastEventId: eventId,
      };
    case 2:
      return { kind: 'bye', from, leader: r.pick([true, false, 'yes']) };
    case 3:
      // Absurd ids in the leader's own name are not trusted either.
      return {
        kind: 'event',
        from: r.chance(0.3) ? leader : from,
        event: { ...event, id: r.pick([`${now + 3 * 86_400_000}-0`, '9999999999999-0']) },
      };
    case 4:
      return { kind: 'event', from, event, only: r.pick([undefined, [], memberIds, ['x'], 'abc']) };
    case 5:
      return {
        kind: 'status',
        from,
        status: r.pick(['open', 'error', 'reconnecting', 'closed', 'connecting', 'weird']),
        reason: r.pick(['opened', 'gave-up', 'forbidden', 'dropped', 'nope']),
        topics,
        position: eventId,
        error,
      };
    case 6:
      return {
        kind: 'error',
        from,
        code: r.pick(['connection', 'gave-up', 'token', 'nope']),
        message: r.pick(['forged', 42]),
        httpStatus: r.pick([undefined, 403, 'x']),
      };
    case 7:
      return { kind: r.pick(['roll-call', 'pong', 'resigned']), from };
    case 8:
      return { kind: 'ping', from, to: r.pick([undefined, ...memberIds, ...FORGED_IDS, 42]) };
    case 9:
      return {
        kind: 'solo',
        from,
        members: r.pick([memberIds, [...FORGED_IDS], 'abc', [42], Array.from({ length: 5_000 }, () => 'x')]),
      };
    case 10:
      return r.pick([null, 42, 'member', [], {}, { kind: 'nothing-we-know', from }, { from }]);
    default:
      // A re-join behind the stream with a topic that comes and goes: reconnects to coalesce.
      return {
        kind: 'member',
        from: FORGED_IDS[r.int(2)],
        join: true,
        topics: r.pick([[], ['feeds/x']]),
        types: [],
        lastEventId: '1-0',
      };
  }
}

const FORGED_IDS = ['000000000-forged00', 'zzzzzzzzz-forged01', '0lzzzzzzz-forged02'] as const;

describe.each([
  ['Web Locks', true],
  ['leases', false],
])('SseClient share: seeded fuzz of forged messages (%s)', (_name, withLocks) => {
  const STEPS = 400;
  const STEP_MS = 20;

  it(`delivers every real event once and in order to every tab, none gives up, and reconnects stay within two a second (seed ${FUZZ_SEED})`, async () => {
    const share: SseShareOptions = { BroadcastChannel: hub.BroadcastChannel, locks: withLocks ? locks : null };
    // Forged messages each make a few members answer (a ping, a member message): room for that.
    hub.maxMessages = 200_000;
    const a = join('a', {}, share);
    await jest.advanceTimersByTimeAsync(1);
    const b = join('b', {}, share);
    await jest.advanceTimersByTimeAsync(1);
    const c = join('c', {}, share);
    await settle(400);
    expect(roles()).toEqual(['a:leader', 'b:follower', 'c:follower']);
    const server = new FakeServer();
    server.serve();
    const memberIds = [...new Set(hub.messages('member').map((m) => (m as { from: string }).from))];
    const leader = (hub.messages('roll-call').at(-1) as { from: string }).from;
    const forged = new hub.BroadcastChannel(hub.channels[0].name);
    const random = new Random(mulberry32(FUZZ_SEED));
    const startedAt = Date.now();
    let publishedByA = 0;
    for (let step = 0; step < STEPS; step += 1) {
      for (let i = random.int(4); i > 0; i -= 1) forged.postMessage(forgedMessage(random, memberIds, leader));
      // Published while a new stream may be connecting: it gets the event only by replay.
      await settle(STEP_MS / 2);
      if (step % 4 === 0) server.publish();
      // Halfway, the leader's tab closes: the stream is handed over amid the forgeries.
      if (step === STEPS / 2) {
        // Once its streams in the making are served (a catch-up opens on the next turn), a has every event so far.
        for (let i = 0; i < 3; i += 1) {
          server.serve();
          await settle();
        }
        publishedByA = server.published().length;
        a.client.close();
      }
      await settle(STEP_MS / 2);
      server.serve();
    }
    await settle(2_000);
    server.serve();
    await settle();
    const elapsed = Date.now() - startedAt;

    const all = server.published();
    expect(all.length).toBe(STEPS / 4);
    expect(a.updates.map(([n]) => n)).toEqual(all.slice(0, publishedByA));
    for (const m of [b, c]) {
      expect(m.updates.map(([n]) => n)).toEqual(all);
      expect(m.statuses.map(([status]) => status)).not.toContain('error');
      expect(m.client.status).toBe('open');
      expect(m.errors).toEqual([]);
    }
    expect([b.client.shareRole, c.client.shareRole].sort()).toEqual(['follower', 'leader']);
    // Each leader's first stream, then at most one restart per second each (counted over the
    // whole run, though each led about half of it, one of leeway), and after a rewind the
    // server refused (forged members behind it), one catch-up: two reconnects a second at most.
    const seconds = Math.ceil(elapsed / SSE_SHARE_TIMINGS.restartMinIntervalMs);
    expect(FakeEventSource.instances.length).toBeLessThanOrEqual(2 + 2 * (seconds + 1));
    for (const m of [b, c]) {
      expect(m.client.shareStats.malformedMessages).toBeGreaterThan(0);
      expect(m.client.shareStats.untrustedMessages).toBeGreaterThan(0);
    }
  }, 60_000);
});
