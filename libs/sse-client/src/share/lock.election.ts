import type { SseElectionEvents, SseTabElection } from './tab-election.interface.js';
import type { SseLockManagerLike } from './tab-share.protocol.js';

/**
 * Leadership is holding a Web Lock (`navigator.locks`). The browser grants it to one
 * holder at a time, queues the others, and frees it when the holder's page closes or
 * crashes: the next member in the queue leads at once, with no timers. A frozen or hung
 * page keeps its lock: `takeOver()` steals it, and the old holder, once it runs again,
 * learns it lost the lock (its request rejects), resigns and queues again.
 */
export class SseLockElection implements SseTabElection {
  private abort: AbortController | undefined;
  private release: (() => void) | undefined;

  constructor(
    private readonly locks: SseLockManagerLike,
    private readonly name: string,
  ) {}

  private events: SseElectionEvents | undefined;

  start(events: SseElectionEvents): void {
    if (this.abort) return;
    this.events = events;
    this.request(false);
  }

  takeOver(): void {
    if (!this.abort || this.release) return;
    // A steal cannot carry a signal: the queued request is withdrawn, and the steal is the new one.
    this.abort.abort();
    this.request(true);
  }

  private request(steal: boolean): void {
    const events = this.events;
    if (!events) return;
    const abort = new AbortController();
    this.abort = abort;
    const granted = (): Promise<void> => {
      // Granted after stop(): let the next member have it.
      if (abort.signal.aborted) return Promise.resolve();
      return new Promise<void>((release) => {
        this.release = release;
        events.lead();
      });
    };
    this.locks.request(this.name, steal ? { steal: true } : { signal: abort.signal }, granted).catch(() => {
      // Withdrawn (stop(), or replaced by a steal), or stolen from this holder.
      if (this.abort !== abort || abort.signal.aborted) return;
      const held = this.release !== undefined;
      this.release = undefined;
      if (held) {
        events.resign();
        this.request(false);
      }
    });
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.events = undefined;
    const release = this.release;
    this.release = undefined;
    release?.();
  }
}
