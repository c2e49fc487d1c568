import type { OnModuleDestroy } from '@nestjs/common';
import { DEFAULT_HISTORY_MAX_USERS } from '../sse.constants.js';
import { compareEventIds, type SseEventId } from '../sse-event-id.js';
import type { SseFrame } from '../sse-frame.js';
import { integerOption, MAX_HISTORY_USERS } from '../sse-options.resolver.js';
import { RingBuffer } from './ring-buffer.js';
import type { SseHistoryRecord, SseHistoryStore, SseReplayResult } from './sse-history-store.interface.js';

interface Log {
  readonly records: RingBuffer<SseHistoryRecord>;
  /** Newest id this log dropped because it was full: resuming from before it would miss events. */
  evictedUpTo?: SseEventId;
  /**
   * The store's `usersEvictedUpTo` when this log was made: an earlier log of the
   * same user, evicted for `maxUsers`, held nothing newer than this.
   */
  readonly bornAfter?: SseEventId;
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
  /**
   * Users whose logs are kept. Past it, the user written to least recently is
   * forgotten, and a resume from before what it held gets `too-old`.
   * Default `DEFAULT_HISTORY_MAX_USERS`. Broadcasts are never evicted.
   */
  maxUsers?: number;
}

/**
 * The default history: per-user ring buffers plus one for broadcasts, bounded by
 * count, by age and by the number of users, in this process's memory. A record
 * sent to several users is stored once and referenced from each of their logs;
 * a log's buffer starts at a few slots and grows up to `maxEvents`.
 *
 * @publicApi
 */
export class MemoryHistoryStore implements SseHistoryStore, OnModuleDestroy {
  /** In order of last write: the first entry is the user written to least recently. */
  private readonly users = new Map<string, Log>();
  private readonly broadcasts: Log;
  private readonly maxEvents: number;
  private readonly ttlMs: number;
  private readonly maxUsers: number;
  /** Newest id dropped for age, from any log: ids older than this may have lost events. */
  private expiredUpTo?: SseEventId;
  /**
   * Newest id held by a log evicted for `maxUsers`. Evicted users are not
   * remembered (that would cost what eviction saves), so a user without a log
   * resuming from before this may have lost events, and gets `too-old`.
   */
  private usersEvictedUpTo?: SseEventId;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(options: MemoryHistoryOptions) {
    const bound = (name: string, value: number, max?: number) => integerOption('MemoryHistoryStore', name, value, { min: 1, max });
    this.maxEvents = bound('maxEvents', options?.maxEvents);
    this.ttlMs = bound('ttlMs', options?.ttlMs);
    this.maxUsers = bound('maxUsers', options?.maxUsers ?? DEFAULT_HISTORY_MAX_USERS, MAX_HISTORY_USERS);
    this.broadcasts = this.newLog();
    // Users who stop receiving events would otherwise keep their last records forever.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(this.ttlMs, 60_000)));
    this.sweeper.unref();
  }

  append(record: SseHistoryRecord): void {
    if (record.userIds === undefined) {
      this.push(this.broadcasts, record);
      return;
    }
    for (const userId of record.userIds) {
      let log = this.users.get(userId);
      // Re-inserted, so the map stays in order of last write.
      if (log) this.users.delete(userId);
      else log = this.newLog(this.usersEvictedUpTo);
      this.users.set(userId, log);
      this.push(log, record);
      if (this.users.size > this.maxUsers) this.evictLeastRecentUser();
    }
  }

  replay(userId: string, after: SseEventId): SseReplayResult {
    const now = Date.now();
    const own = this.users.get(userId);
    if (own) this.expire(own, now);
    this.expire(this.broadcasts, now);
    // Events of this user dropped with an evicted log are no newer than what its current log was born after.
    const userEviction = own ? own.bornAfter : this.usersEvictedUpTo;
    for (const mark of [this.expiredUpTo, own?.evictedUpTo, this.broadcasts.evictedUpTo, userEviction]) {
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

  /** Number of users whose logs are kept (at most `maxUsers`), for tests and metrics. */
  userCount(): number {
    return this.users.size;
  }

  /**
   * Buffer slots allocated, for one user or in all (broadcasts included): each
   * costs 8 bytes beside the records, and grows by doubling up to `maxEvents`.
   */
  slots(userId?: string): number {
    if (userId !== undefined) return this.users.get(userId)?.records.slots ?? 0;
    let total = this.broadcasts.records.slots;
    for (const log of this.users.values()) total += log.records.slots;
    return total;
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private newLog(bornAfter?: SseEventId): Log {
    return { records: new RingBuffer(this.maxEvents), bornAfter };
  }

  private evictLeastRecentUser(): void {
    const [userId, log] = this.users.entries().next().value!;
    this.users.delete(userId);
    const newest = log.records.peekNewest()?.id;
    if (newest && (!this.usersEvictedUpTo || compareEventIds(newest, this.usersEvictedUpTo) > 0)) {
      this.usersEvictedUpTo = newest;
    }
  }

  private push(log: Log, record: SseHistoryRecord): void {
    const dropped = log.records.push(record);
    if (dropped) log.evictedUpTo = dropped.id;
  }

  private expire(log: Log, now: number): void {
    const cutoff = now - this.ttlMs;
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
