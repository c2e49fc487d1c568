import type { SseElectionEvents, SseTabElection } from './tab-election.interface.js';
import type { SseBroadcastChannelLike } from './tab-share.protocol.js';

/** Defaults of the lease election (where Web Locks are missing). */
export const SSE_LEASE_DEFAULTS = {
  /** A leader not heard from for this long is taken over. */
  leaseMs: 3_000,
  /** A claim not answered in this long wins. */
  claimMs: 150,
} as const;

type LeaseMessage = { kind: 'lease' | 'claim' | 'release'; from: string };

const LEASE_KINDS: ReadonlySet<unknown> = new Set(['lease', 'claim', 'release']);
/** A candidate id (the share's member ids are 18 characters). */
const MAX_ID_LENGTH = 64;

/**
 * Leadership over `BroadcastChannel` alone, where the Web Locks API is missing: the
 * leader renews a lease three times per `leaseMs`; a member that hears none for
 * `leaseMs` (or hears the leader's release) claims it, and wins if no lease and no
 * claim from an older member (a smaller id) answers within `claimMs`. Two leaders
 * that hear each other settle on the older one.
 *
 * Only messages of that shape count (a kind above, an id of at most 64 characters). A lease is not proof of
 * anything: a script of the origin that keeps posting leases from an old id keeps every
 * member from leading. Web Locks, which every current browser has, are not open to that.
 */
export class SseLeaseElection implements SseTabElection {
  private events: SseElectionEvents | undefined;
  private leading = false;
  private claiming: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private lastLeaseAt = 0;
  private channel: SseBroadcastChannelLike | undefined;
  private readonly onMessage = (event: MessageEvent): void => {
    const data = event.data as Partial<LeaseMessage> | null;
    if (typeof data === 'object' && data !== null && LEASE_KINDS.has(data.kind) && isCandidateId(data.from)) {
      this.receive(data as LeaseMessage);
    }
  };

  constructor(
    /** Opens the election's own channel: open while competing, closed by `stop()`. */
    private readonly openChannel: () => SseBroadcastChannelLike,
    private readonly id: string,
    private readonly leaseMs: number = SSE_LEASE_DEFAULTS.leaseMs,
    private readonly claimMs: number = SSE_LEASE_DEFAULTS.claimMs,
  ) {}

  start(events: SseElectionEvents): void {
    if (this.events) return;
    this.events = events;
    this.channel = this.openChannel();
    this.channel.addEventListener('message', this.onMessage);
    this.ticker = setInterval(() => this.tick(), Math.max(1, Math.floor(this.leaseMs / 3)));
    // A leader answers a claim at once: a new member learns within claimMs whether one exists.
    this.claim();
  }

  takeOver(): void {
    if (!this.events || this.leading || this.claiming !== undefined) return;
    this.claim();
  }

  stop(): void {
    if (!this.events) return;
    if (this.leading) this.post('release');
    this.leading = false;
    this.events = undefined;
    clearInterval(this.ticker);
    clearTimeout(this.claiming);
    this.ticker = undefined;
    this.claiming = undefined;
    this.channel?.removeEventListener('message', this.onMessage);
    this.channel?.close();
    this.channel = undefined;
  }

  private tick(): void {
    if (this.leading) this.post('lease');
    else if (this.claiming === undefined && Date.now() - this.lastLeaseAt >= this.leaseMs) this.claim();
  }

  private claim(): void {
    this.post('claim');
    this.claiming = setTimeout(() => {
      this.claiming = undefined;
      if (!this.events) return;
      this.leading = true;
      this.post('lease');
      this.events.lead();
    }, this.claimMs);
  }

  private receive(message: LeaseMessage): void {
    if (!this.events || message.from === this.id) return;
    switch (message.kind) {
      case 'lease':
        this.lastLeaseAt = Date.now();
        this.yieldClaim();
        if (this.leading) {
          if (message.from < this.id) this.stepDown();
          else this.post('lease');
        }
        break;
      case 'claim':
        if (this.leading) this.post('lease');
        else if (message.from < this.id) this.yieldClaim();
        break;
      case 'release':
        if (!this.leading && this.claiming === undefined) this.claim();
        break;
    }
  }

  private yieldClaim(): void {
    clearTimeout(this.claiming);
    this.claiming = undefined;
    // Heard an older claimant or a leader: wait a lease before trying again.
    this.lastLeaseAt = Math.max(this.lastLeaseAt, Date.now());
  }

  private stepDown(): void {
    this.leading = false;
    this.events?.resign();
  }

  private post(kind: LeaseMessage['kind']): void {
    this.channel?.postMessage({ kind, from: this.id } satisfies LeaseMessage);
  }
}

function isCandidateId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}
