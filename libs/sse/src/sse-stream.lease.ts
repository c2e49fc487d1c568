import type { SsePresenceSlot } from './transport/sse-transport.interface.js';

/**
 * How long a slot taken by `SseStreamFactory.open()` waits for its stream's
 * subscription. The module's route subscribes in the same tick; this bounds what
 * a stream nobody subscribes holds (an app's handler that fails after
 * `openStream()`, an Observable left unused), which its instance would otherwise renew for ever.
 */
export const STREAM_CLAIM_WINDOW_MS = 10_000;

/** Where a stream's Observable carries its lease: for the sink, which never subscribes for a HEAD. */
const LEASE = Symbol('sse.stream-lease');

interface Leased {
  [LEASE]?: SseStreamLease;
}

/**
 * A cluster-wide slot owned by the one stream that uses it. The subscription
 * that opens the stream claims it (its relay's teardown then releases it);
 * otherwise it is given back: by the sink for a HEAD, by `open()` when making
 * the stream fails, or at the end of the claim window.
 */
export class SseStreamLease {
  private slot?: SsePresenceSlot;
  private readonly window: NodeJS.Timeout;

  constructor(slot: SsePresenceSlot) {
    this.slot = slot;
    this.window = setTimeout(releaseLease, STREAM_CLAIM_WINDOW_MS, this);
    // Never what keeps a process alive.
    this.window.unref();
  }

  /** Puts the lease on the stream's Observable, where `releaseStreamSlot()` finds it. */
  attachTo<T extends object>(stream: T): T {
    (stream as Leased)[LEASE] = this;
    return stream;
  }

  /**
   * Hands the slot to the subscription that opens the stream, once. Throws for any
   * other: a second subscription, or one after the slot was given back, would
   * stream without a slot and break the limit across the cluster.
   */
  claim(): SsePresenceSlot {
    const slot = this.take();
    if (slot) return slot;
    throw new Error(
      `a stream of SseService.openStream() opens once, subscribed within ${STREAM_CLAIM_WINDOW_MS} ms: ` +
        'its slot was claimed by another subscription or given back',
    );
  }

  /** Gives the slot back unless a subscription claimed it (its stream then gives it back); idempotent. */
  release(): void {
    this.take()?.release();
  }

  private take(): SsePresenceSlot | undefined {
    const slot = this.slot;
    this.slot = undefined;
    clearTimeout(this.window);
    return slot;
  }
}

/** For a stream the sink will not subscribe (a HEAD): gives back the slot its Observable holds, if any. */
export function releaseStreamSlot(stream: object): void {
  (stream as Leased)[LEASE]?.release();
}

function releaseLease(lease: SseStreamLease): void {
  lease.release();
}
