import type { Observable, Observer, Subscription } from 'rxjs';

import type { SsePresenceSlot } from '../transport/sse-transport.interface.js';

/**
 * How long a slot taken by `SseStreamFactory.open()` waits for its stream's
 * subscription. The module's route subscribes in the same tick; this bounds what
 * a stream nobody subscribes holds (an app's handler that fails after
 * `openStream()`, an Observable left unused), which its instance would otherwise renew for ever.
 */
export const STREAM_CLAIM_WINDOW_MS = 10_000;

/**
 * A cluster-wide slot owned by the one stream that uses it. The subscription
 * that opens the stream claims it (its relay's teardown then releases it);
 * otherwise it is given back: by a HEAD's subscription (see `subscribeAsHead`),
 * by `open()` when making the stream fails, or at the end of the claim window.
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

/** True while `subscribeAsHead()` subscribes: a HEAD's Observable, which opens no stream. */
let subscribingAsHead = false;

/**
 * Subscribes a HEAD's Observable, for the status its GET would get, and
 * unsubscribes it at once. The module's streams reached by this subscription
 * (however the app's Observable wraps them: `pipe`, `concat`, `defer`) open
 * nothing: they give back the slot their lease holds, take no place in the
 * user's channel and report no online; one that fails as it is subscribed (the
 * per-user limit) fails here, as it would for the GET. What they reach only
 * later (after a timer, a Promise) is never subscribed: the claim window gives
 * back its slot. Costs one flag per subscription, nothing per event.
 */
export function subscribeAsHead<T>(stream: Observable<T>, observer: Partial<Observer<T>>): void {
  const outer = subscribingAsHead;
  subscribingAsHead = true;
  let subscription: Subscription;
  try {
    subscription = stream.subscribe(observer);
  } finally {
    subscribingAsHead = outer;
  }
  subscription.unsubscribe();
}

/** Whether the subscription under way is a HEAD's (see `subscribeAsHead`): the stream then opens nothing. */
export function isSubscribedAsHead(): boolean {
  return subscribingAsHead;
}

function releaseLease(lease: SseStreamLease): void {
  lease.release();
}
