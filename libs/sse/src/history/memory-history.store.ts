import type { OnModuleDestroy } from '@nestjs/common';
import { compareEventIds, type SseEventId } from '../sse-event-id.js';
import type { SseFrame } from '../sse-frame.js';
import { RingBuffer } from './ring-buffer.js';
import type { SseHistoryRecord, SseHistoryStore, SseReplayResult } from './sse-history-store.interface.js';

interface Log {
  readonly records: RingBuffer<SseHistoryRecord>;
  /** Newest id this log dropped because it was full: resuming from before it would miss events. */
  evictedUpTo?: SseEventId;
}

/**
 * Bounds of `MemoryHistoryStore`.
 *
 * @publicApi
 */
export interface MemoryHistoryOptions {
  /** Events kept per user, and for broadcasts. */
  maxEvents: number;
  /** Age after which events are dropped. */
  ttlMs: number;
}

/**
 * The default history: per-user ring buffers plus one for broadcasts, bounded by
 * count and by age, in this process's memory. A record sent to several users is
 * stored once and referenced from each of their logs.
 *
 * @publicApi
 */
export class MemoryHistoryStore implements SseHistoryStore, OnModuleDestroy {
  private readonly users = new Map<string, Log>();
  private readonly broadcasts: Log;
  /** Newest id dropped for age, from any log: ids older than this may have lost events. */
  private expiredUpTo?: SseEventId;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly options: MemoryHistoryOptions) {
    this.broadcasts = this.newLog();
    // Users who stop receiving events would otherwise keep their last records forever.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(options.ttlMs, 60_000)));
    this.sweeper.unref();
  }

  append(record: SseHistoryRecord): void {
    if (record.userIds === undefined) {
      this.push(this.broadcasts, record);
      return;
    }
    for (const userId of record.userIds) {
      let log = this.users.get(userId);
      if (!log) this.users.set(userId, (log = this.newLog()));
      this.push(log, record);
    }
  }

  replay(userId: string, after: SseEventId): SseReplayResult {
    const now = Date.now();
    const own = this.users.get(userId);
    if (own) this.expire(own, now);
    this.expire(this.broadcasts, now);
    for (const mark of [this.expiredUpTo, own?.evictedUpTo, this.broadcasts.evictedUpTo]) {
      if (mark && compareEventIds(after, mark) < 0) return { ok: false, reason: 'too-old' };
    }
    return { ok: true, frames: mergeAfter(after, own?.records, this.broadcasts.records) };
  }

  /** Number of records held, for tests and metrics. */
  size(userId?: string): number {
    if (userId !== undefined) return this.users.get(userId)?.records.size ?? 0;
    let total = this.broadcasts.records.size;
    for (const log of this.users.values()) total += log.records.size;
    return total;
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private newLog(): Log {
    return { records: new RingBuffer(this.options.maxEvents) };
  }

  private push(log: Log, record: SseHistoryRecord): void {
    const dropped = log.records.push(record);
    if (dropped) log.evictedUpTo = dropped.id;
  }

  private expire(log: Log, now: number): void {
    const cutoff = now - this.options.ttlMs;
    for (let oldest = log.records.peekOldest(); oldest && oldest.at < cutoff; oldest = log.records.peekOldest()) {
      log.records.shift();
      if (!this.expiredUpTo || compareEventIds(oldest.id, this.expiredUpTo) > 0) this.expiredUpTo = oldest.id;
    }
  }

  private sweep(): void {
    const now = Date.now();
    this.expire(this.broadcasts, now);
    for (const [userId, log] of this.users) {
      this.expire(log, now);
      // An empty log's eviction mark is older than expiredUpTo by now, so nothing is lost with it.
      if (log.records.size === 0) this.users.delete(userId);
    }
  }
}

/** First index whose id is after `after` (records are in id order). */
function firstAfter(records: RingBuffer<SseHistoryRecord>, after: SseEventId): number {
  let lo = 0;
  let hi = records.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEventIds(records.at(mid).id, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mergeAfter(
  after: SseEventId,
  a: RingBuffer<SseHistoryRecord> | undefined,
  b: RingBuffer<SseHistoryRecord>,
): SseFrame[] {
  const frames: SseFrame[] = [];
  let i = a ? firstAfter(a, after) : 0;
  let j = firstAfter(b, after);
  const aSize = a?.size ?? 0;
  while (i < aSize || j < b.size) {
    const takeA = j >= b.size || (i < aSize && compareEventIds(a!.at(i).id, b.at(j).id) < 0);
    frames.push(takeA ? a!.at(i++).frame : b.at(j++).frame);
  }
  return frames;
}
