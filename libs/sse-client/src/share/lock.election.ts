import type { SseLockManagerLike } from './tab-share.protocol.js';
import type { SseElectionEvents, SseTabElection } from './tab-election.interface.js';

/**
 * Leadership is holding a Web Lock (`navigator.locks`). The browser grants it to one
 * holder at a time, queues the others, and frees it when the holder's page closes or
 * crashes: the next member in the queue leads at once, with no timers.
 */
export class SseLockElection implements SseTabElection {
  private abort: AbortController | undefined;
  private release: (() => void) | undefined;

  constructor(
    private readonly locks: SseLockManagerLike,
    private readonly name: string,
  ) {}

  start(events: SseElectionEvents): void {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    this.locks
      .request(this.name, { signal: abort.signal }, () => {
        // Granted after stop(): let the next member have it.
        if (abort.signal.aborted) return Promise.resolve();
        return new Promise<void>((release) => {
          this.release = release;
          events.lead();
        });
      })
      // An AbortError when stop() withdrew the request before it was granted.
      .catch(() => undefined);
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    const release = this.release;
    this.release = undefined;
    release?.();
  }
}
