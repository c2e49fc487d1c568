import { compareEventIds, type SseEventId } from '@nest-sse/protocol';

import { RingBuffer } from './ring-buffer.js';
import type { SseHistoryRecord } from './sse-history-store.interface.js';

/** One log of `MemoryHistoryStore`: a user's, a topic's, or the broadcasts'. */
export interface HistoryLog {
  readonly records: RingBuffer<SseHistoryRecord>;
  /** Newest id this log dropped because it was full: resuming from before it would miss events. */
  evictedUpTo?: SseEventId;
  /**
   * The map's `evictedUpTo` when this log was made: an earlier log of the same
   * key, evicted past the map's bound, held nothing newer than this.
   */
  readonly bornAfter?: SseEventId;
}

export function newHistoryLog(maxEvents: number, bornAfter?: SseEventId): HistoryLog {
  return { records: new RingBuffer(maxEvents), bornAfter };
}

/**
 * Logs by key (users, or topics), at most `maxLogs` of them: past it, the one
 * written to least recently is forgotten. Forgotten keys are not remembered
 * (that would cost what eviction saves); only the newest id they held is.
 */
export class HistoryLogMap {
  /** In order of last write: the first entry is the key written to least recently. */
  private readonly logs = new Map<string, HistoryLog>();
  /** Newest id held by an evicted log. */
  private evictedUpTo?: SseEventId;

  constructor(
    private readonly maxEvents: number,
    private readonly maxLogs: number,
  ) {}

  get count(): number {
    return this.logs.size;
  }

  get(key: string): HistoryLog | undefined {
    return this.logs.get(key);
  }

  values(): IterableIterator<HistoryLog> {
    return this.logs.values();
  }

  /** The key's log, made if needed, now the most recently written. */
  write(key: string): HistoryLog {
    let log = this.logs.get(key);
    // Re-inserted, so the map stays in order of last write.
    if (log) this.logs.delete(key);
    else log = newHistoryLog(this.maxEvents, this.evictedUpTo);
    this.logs.set(key, log);
    if (this.logs.size > this.maxLogs) this.evictLeastRecent();
    return log;
  }

  /**
   * Newest id whose events for the key (whose log is `log`, if it has one) may
   * have gone with an evicted log: a resume from before it may miss events.
   */
  lostUpTo(log: HistoryLog | undefined): SseEventId | undefined {
    return log ? log.bornAfter : this.evictedUpTo;
  }

  /** Runs `expire` on every log, and forgets those it leaves empty. */
  sweep(expire: (log: HistoryLog) => void): void {
    for (const [key, log] of this.logs) {
      expire(log);
      // Nothing is lost with an empty log: its own mark is older than what expiry
      // recorded, and the map's mark, which the key falls back on, is no older than its bornAfter.
      if (log.records.size === 0) this.logs.delete(key);
    }
  }

  private evictLeastRecent(): void {
    const [key, log] = this.logs.entries().next().value!;
    this.logs.delete(key);
    const newest = log.records.peekNewest()?.id;
    if (newest && (!this.evictedUpTo || compareEventIds(newest, this.evictedUpTo) > 0)) this.evictedUpTo = newest;
  }
}
