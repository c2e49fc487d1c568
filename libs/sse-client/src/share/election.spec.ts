import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { FakeBroadcastHub, type FakeChannel, FakeLockManager } from '../testing/fake-share.js';
import { SSE_LEASE_DEFAULTS, SseLeaseElection } from './lease.election.js';
import { SseLockElection } from './lock.election.js';
import type { SseLockManagerLike } from './tab-share.protocol.js';

const LEASE_MS = 300;
const CLAIM_MS = 30;
/** How often a lease is renewed, and how often a follower checks it. */
const TICK_MS = Math.floor(LEASE_MS / 3);

interface Candidate {
  readonly id: string;
  readonly election: SseLeaseElection;
  leading: boolean;
  leads: number;
  resigns: number;
  /** The channel its current run of the election opened. */
  channel: FakeChannel | undefined;
  start(): void;
  stop(): void;
}

let hub: FakeBroadcastHub;
let candidates: Candidate[];

/** A member competing through the lease election; ids sort by age ('1' is older than '2'). */
function candidate(id: string, leaseMs = LEASE_MS, claimMs = CLAIM_MS): Candidate {
  const self: Candidate = {
    id,
    election: new SseLeaseElection(
      () => {
        const channel = new hub.BroadcastChannel('election') as FakeChannel;
        self.channel = channel;
        return channel;
      },
      id,
      leaseMs,
      claimMs,
    ),
    leading: false,
    leads: 0,
    resigns: 0,
    channel: undefined,
    start: () =>
      self.election.start({
        lead: () => {
          expect(self.leading).toBe(false);
          self.leading = true;
          self.leads += 1;
        },
        resign: () => {
          expect(self.leading).toBe(true);
          self.leading = false;
          self.resigns += 1;
        },
      }),
    stop: () => {
      self.election.stop();
      self.leading = false;
    },
  };
  candidates.push(self);
  return self;
}

const leaders = (): string[] => candidates.filter((c) => c.leading).map((c) => c.id);

/** Runs timers and the channel's deliveries (promise jobs) for `ms`. */
const advance = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  jest.useFakeTimers({ now: 1_700_000_000_000 });
  hub = new FakeBroadcastHub();
  candidates = [];
});

afterEach(() => {
  const storm = hub.storm;
  for (const c of candidates) c.election.stop();
  jest.clearAllTimers();
  jest.useRealTimers();
  // Members that answer each other without end: the hub stopped delivering.
  expect(storm).toBe(false);
});

describe('SseLeaseElection', () => {
  it('defaults to a 3 s lease and a 150 ms claim', () => {
    expect(SSE_LEASE_DEFAULTS).toEqual({ leaseMs: 3_000, claimMs: 150 });
  });

  it('elects exactly one of several candidates started together: the oldest, and it keeps the lead', async () => {
    for (const id of ['3', '1', '4', '2']) candidate(id).start();
    await advance(CLAIM_MS - 1);
    expect(leaders()).toEqual([]);
    await advance(2);
    expect(leaders()).toEqual(['1']);
    // Several leases later: nobody else claimed, nobody flapped.
    await advance(LEASE_MS * 5);
    expect(leaders()).toEqual(['1']);
    expect(candidates.map((c) => [c.id, c.leads, c.resigns])).toEqual([
      ['3', 0, 0],
      ['1', 1, 0],
      ['4', 0, 0],
      ['2', 0, 0],
    ]);
  });

  it('lets a lone candidate lead after claimMs, and later candidates (even older ones) follow it', async () => {
    const first = candidate('5');
    first.start();
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['5']);
    // The leader answers a claim at once with its lease: newcomers yield.
    candidate('6').start();
    candidate('1').start();
    await advance(LEASE_MS * 4);
    expect(leaders()).toEqual(['5']);
    expect(candidates.map((c) => c.leads)).toEqual([1, 0, 0]);
    expect(hub.messages('lease').length).toBeGreaterThan(3);
  });

  it('hands over within claimMs when the leader stops (its release), to the oldest remaining', async () => {
    const [a, b, c] = [candidate('1'), candidate('2'), candidate('3')];
    for (const x of [c, b, a]) x.start();
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['1']);
    await advance(LEASE_MS / 2);

    a.stop();
    expect(hub.messages('release')).toEqual([{ kind: 'release', from: '1' }]);
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['2']);
    expect(a.resigns).toBe(0); // stop() gives up quietly
    await advance(LEASE_MS * 3);
    expect(leaders()).toEqual(['2']);

    b.stop();
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['3']);
    expect(a.channel?.closed).toBe(true);
  });

  it('takes over from a leader that vanished without a release once its lease ran out', async () => {
    const [a, b, c] = [candidate('1'), candidate('2'), candidate('3')];
    for (const x of [a, b, c]) x.start();
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['1']);
    await advance(LEASE_MS);

    // Frozen or crashed: its timers may run, but nothing it says is heard.
    a.channel!.muted = true;
    await advance(LEASE_MS - TICK_MS - 1);
    expect(leaders()).toEqual(['1']);
    // A lease unheard for leaseMs, noticed at the next check, then a claim.
    await advance(2 * TICK_MS + CLAIM_MS + 2);
    expect(leaders().filter((id) => id !== '1')).toEqual(['2']);
    await advance(LEASE_MS * 3);
    expect(leaders().filter((id) => id !== '1')).toEqual(['2']);
    expect(c.leads).toBe(0);
  });

  it('settles two leaders that hear each other on the older one: the younger resigns', async () => {
    const [a, b] = [candidate('1'), candidate('2')];
    a.start();
    await advance(CLAIM_MS + 1);
    b.start();
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['1']);

    a.channel!.muted = true;
    await advance(LEASE_MS * 2);
    expect(leaders()).toEqual(['1', '2']); // a does not know yet
    // a's page wakes up: its next lease reaches b, and b's reaches a.
    a.channel!.muted = false;
    await advance(TICK_MS + 1);
    expect(leaders()).toEqual(['1']);
    expect([a.resigns, b.resigns]).toEqual([0, 1]);
    await advance(LEASE_MS * 3);
    expect(leaders()).toEqual(['1']);
    expect(b.leads).toBe(1);
  });

  it('settles two leaders on the older one when the younger led first', async () => {
    const [young, old] = [candidate('2'), candidate('1')];
    young.start();
    await advance(CLAIM_MS + 1);
    old.start();
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['2']);

    young.channel!.muted = true;
    await advance(LEASE_MS * 2);
    expect(leaders()).toEqual(['2', '1']);
    young.channel!.muted = false;
    await advance(TICK_MS + 1);
    expect(leaders()).toEqual(['1']);
    expect([young.resigns, old.resigns]).toEqual([1, 0]);
  });

  it('competes again after stop() and start()', async () => {
    const [a, b] = [candidate('1'), candidate('2')];
    a.start();
    b.start();
    await advance(CLAIM_MS + 1);
    a.stop();
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['2']);
    a.start();
    await advance(LEASE_MS * 3);
    // b leads: a's claim is answered by b's lease.
    expect(leaders()).toEqual(['2']);
    b.stop();
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['1']);
    expect(hub.open('election')).toHaveLength(1);
  });

  it('stops cleanly: no timers, its channel closed and nothing posted afterwards', async () => {
    const a = candidate('1');
    a.start();
    await advance(CLAIM_MS + 1);
    a.stop();
    a.stop(); // idempotent
    const posted = hub.posted.length;
    expect(jest.getTimerCount()).toBe(0);
    expect(a.channel?.closed).toBe(true);
    expect(a.channel?.listenerCount).toBe(0);
    await advance(LEASE_MS * 3);
    expect(hub.posted.length).toBe(posted);
  });

  it('ignores malformed messages and its own id', async () => {
    const a = candidate('2');
    a.start();
    const intruder = new hub.BroadcastChannel('election');
    intruder.postMessage(null);
    intruder.postMessage({ kind: 'lease' });
    intruder.postMessage({ kind: 'lease', from: '2' });
    await advance(CLAIM_MS + 1);
    expect(leaders()).toEqual(['2']);
    intruder.close();
  });
});

describe('SseLockElection', () => {
  let locks: FakeLockManager;
  beforeEach(() => {
    locks = new FakeLockManager();
  });

  function lockCandidate(): { election: SseLockElection; leads: number; resigns: number } {
    const self = { election: new SseLockElection(locks, 'lock'), leads: 0, resigns: 0 };
    self.election.start({ lead: () => void (self.leads += 1), resign: () => void (self.resigns += 1) });
    return self;
  }

  it('lets the first candidate lead, the second when the first stops, the third after that', async () => {
    const [a, b, c] = [lockCandidate(), lockCandidate(), lockCandidate()];
    await advance(0);
    expect([a.leads, b.leads, c.leads]).toEqual([1, 0, 0]);
    expect(locks.state('lock')).toEqual({ held: true, waiting: 2 });
    a.election.start({ lead: () => void (a.leads += 1), resign: () => undefined }); // already competing: no-op
    await advance(0);
    expect(locks.state('lock')).toEqual({ held: true, waiting: 2 });

    a.election.stop();
    await advance(0);
    expect([a.leads, b.leads, c.leads]).toEqual([1, 1, 0]);
    b.election.stop();
    await advance(0);
    expect([a.leads, b.leads, c.leads]).toEqual([1, 1, 1]);
    expect([a.resigns, b.resigns, c.resigns]).toEqual([0, 0, 0]);
    c.election.stop();
    await advance(0);
    expect(locks.state('lock')).toEqual({ held: false, waiting: 0 });
  });

  it('takeOver() steals the lock of a holder that stopped running; the old holder resigns and queues again', async () => {
    const [a, b, c] = [lockCandidate(), lockCandidate(), lockCandidate()];
    await advance(0);
    expect([a.leads, b.leads, c.leads]).toEqual([1, 0, 0]);
    b.election.takeOver();
    await advance(0);
    expect([a.leads, b.leads, c.leads]).toEqual([1, 1, 0]);
    expect([a.resigns, b.resigns, c.resigns]).toEqual([1, 0, 0]);
    // a and c wait behind b now; the queue still works.
    expect(locks.state('lock')).toEqual({ held: true, waiting: 2 });
    b.election.takeOver(); // the holder: nothing to take
    await advance(0);
    expect(b.leads).toBe(1);
    b.election.stop();
    await advance(0);
    expect(a.leads + c.leads).toBe(2);
    a.election.stop();
    c.election.stop();
  });

  it('withdraws a request by stop() before it is granted: it never leads', async () => {
    const [a, b, c] = [lockCandidate(), lockCandidate(), lockCandidate()];
    await advance(0);
    b.election.stop();
    await advance(0);
    expect(locks.state('lock')).toEqual({ held: true, waiting: 1 });
    a.election.stop();
    await advance(0);
    expect([a.leads, b.leads, c.leads]).toEqual([1, 0, 1]);
    expect(locks.grants.get('lock')).toBe(2);
    c.election.stop();
  });

  it('competes again after stop(): queued behind the current holder', async () => {
    const [a, b] = [lockCandidate(), lockCandidate()];
    await advance(0);
    a.election.stop();
    a.election.start({ lead: () => void (a.leads += 1), resign: () => undefined });
    await advance(0);
    expect([a.leads, b.leads]).toEqual([1, 1]);
    b.election.stop();
    await advance(0);
    expect([a.leads, b.leads]).toEqual([2, 1]);
    a.election.stop();
  });

  it('gives a lock granted after stop() straight back without leading', async () => {
    let granted: ((lock: unknown) => Promise<void>) | undefined;
    let signal: AbortSignal | undefined;
    // A manager that grants only when told, even after the signal aborted (a grant racing the abort).
    const racing: SseLockManagerLike = {
      request: (_name, options, callback) => {
        signal = options.signal;
        granted = callback;
        return new Promise(() => undefined);
      },
    };
    const election = new SseLockElection(racing, 'lock');
    let leads = 0;
    election.start({ lead: () => void (leads += 1), resign: () => undefined });
    election.stop();
    expect(signal?.aborted).toBe(true);
    const held = granted!({});
    await expect(held).resolves.toBeUndefined();
    expect(leads).toBe(0);
  });

  it('releases the lock held by a leader on stop(), and a request rejected by the abort is swallowed', async () => {
    const a = lockCandidate();
    const b = lockCandidate();
    await advance(0);
    b.election.stop(); // rejects b's request with an AbortError: no unhandled rejection
    a.election.stop();
    await advance(0);
    expect(locks.state('lock')).toEqual({ held: false, waiting: 0 });
  });
});
