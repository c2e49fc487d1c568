import { compareEventIds, type SseEventId } from '@nest-sse/protocol';
import type { OnModuleDestroy } from '@nestjs/common';

import { DEFAULT_HISTORY_MAX_TOPICS, DEFAULT_HISTORY_MAX_USERS } from '../options/sse.defaults.js';
import { integerOption, MAX_HISTORY_USERS } from '../options/sse-options.resolver.js';
import type { SseFrame } from '../wire/sse-frame.js';
import { type HistoryLog, HistoryLogMap, newHistoryLog } from './history-log.map.js';
import type { RingBuffer } from './ring-buffer.js';
import type { SseHistoryRecord, SseHistoryStore, SseReplayResult } from './sse-history-store.interface.js';

/**
 * Bounds of `MemoryHistoryStore`.
 *
 * @publicApi
 */
export interface MemoryHistoryOptions {
  /** Events kept per user, per topic, and for broadcasts. */
  maxEvents: number;
  /** Age after which events are dropped. */
  ttlMs: number;
  /**
   * Users whose logs are kept. Past it, the user written to least recently is
   * forgotten, and a resume from before what it held gets `too-old`.
   * Default `DEFAULT_HISTORY_MAX_USERS`. Broadcasts are never evicted.
   */
  maxUsers?: number;
  /**
   * Topics whose logs are kept. Past it, the topic published to least recently
   * is forgotten, and a resume subscribed to it from before what it held gets
   * `too-old`. Default `DEFAULT_HISTORY_MAX_TOPICS`.
   */
  maxTopics?: number;
}

/**
 * The default history: ring buffers per user, per topic and one for broadcasts,
 * bounded by count, by age and by the number of users and of topics, in this
 * process's memory. A record sent to several users is stored once and referenced
 * from each of their logs; a log's buffer starts at a few slots and grows up to `maxEvents`.
 *
 * @publicApi
 */
export class MemoryHistoryStore implements SseHistoryStore, OnModuleDestroy {
  private readonly users: HistoryLogMap;
  private readonly topics: HistoryLogMap;
  private readonly broadcasts: HistoryLog;
  private readonly ttlMs: number;
  /** Newest id dropped for age, from any log: ids older than this may have lost events. */
  private expiredUpTo?: SseEventId;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(options: MemoryHistoryOptions) {
    const bound = (name: string, value: number, max?: number) =>
      integerOption('MemoryHistoryStore', name, value, { min: 1, max });
    const maxEvents = bound('maxEvents', options?.maxEvents);
    this.ttlMs = bound('ttlMs', options?.ttlMs);
    this.users = new HistoryLogMap(
      maxEvents,
      bound('maxUsers', options?.maxUsers ?? DEFAULT_HISTORY_MAX_USERS, MAX_HISTORY_USERS),
    );
    this.topics = new HistoryLogMap(
      maxEvents,
      bound('maxTopics', options?.maxTopics ?? DEFAULT_HISTORY_MAX_TOPICS, MAX_HISTORY_USERS),
    );
    this.broadcasts = newHistoryLog(maxEvents);
    // Users and topics who stop receiving events would otherwise keep their last records forever.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(this.ttlMs, 60_000)));
    this.sweeper.unref();
  }

  /** A topic's record goes to that topic's log only; one without recipients or topic is a broadcast. */
  append(record: SseHistoryRecord): void {
    if (record.topic !== undefined) this.push(this.topics.write(record.topic), record);
    if (record.userIds !== undefined) {
      for (const userId of record.userIds) this.push(this.users.write(userId), record);
    } else if (record.topic === undefined) {
      this.push(this.broadcasts, record);
    }
  }

  replay(userId: string, after: SseEventId, topics?: readonly string[]): SseReplayResult {
    const now = Date.now();
    const own = this.users.get(userId);
    const logs = own ? [this.broadcasts, own] : [this.broadcasts];
    // Events dropped with an evicted log of the user or of a topic are no newer than these.
    const lost = [this.users.lostUpTo(own)];
    for (const topic of topics ? new Set(topics) : []) {
      const log = this.topics.get(topic);
      if (log) logs.push(log);
      lost.push(this.topics.lostUpTo(log));
    }
    for (const log of logs) this.expire(log, now);
    for (const mark of [this.expiredUpTo, ...lost, ...logs.map((log) => log.evictedUpTo)]) {
      if (mark && compareEventIds(after, mark) < 0) return { ok: false, reason: 'too-old' };
    }
    return {
      ok: true,
      frames: mergeAfter(
        after,
        logs.map((log) => log.records),
      ),
    };
  }

  /** Number of records held, in a user's log (by id), a topic's (`{ topic }`) or in all, for tests and metrics. */
  size(key?: string | { topic: string }): number {
    return this.total(key, (records) => records.size);
  }

  /** Number of users whose logs are kept (at most `maxUsers`), for tests and metrics. */
  userCount(): number {
    return this.users.count;
  }

  /** Number of topics whose logs are kept (at most `maxTopics`), for tests and metrics. */
  topicCount(): number {
    return this.topics.count;
  }

  /**
   * Buffer slots allocated, for one user or topic or in all (broadcasts included):
   * each costs 8 bytes beside the records, and grows by doubling up to `maxEvents`.
   */
  slots(key?: string | { topic: string }): number {
    return this.total(key, (records) => records.slots);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private total(
    key: string | { topic: string } | undefined,
    measure: (records: RingBuffer<SseHistoryRecord>) => number,
  ): number {
    if (key !== undefined) {
      const log = typeof key === 'string' ? this.users.get(key) : this.topics.get(key.topic);
      return log ? measure(log.records) : 0;
    }
    let total = measure(this.broadcasts.records);
    for (const log of this.users.values()) total += measure(log.records);
    for (const log of this.topics.values()) total += measure(log.records);
    return total;
  }

  private push(log: HistoryLog, record: SseHistoryRecord): void {
    const dropped = log.records.push(record);
    if (dropped) log.evictedUpTo = dropped.id;
  }

  private expire(log: HistoryLog, now: number): void {
    const cutoff = now - this.ttlMs;
    for (let oldest = log.records.peekOldest(); oldest && oldest.at < cutoff; oldest = log.records.peekOldest()) {
      log.records.shift();
      if (!this.expiredUpTo || compareEventIds(oldest.id, this.expiredUpTo) > 0) this.expiredUpTo = oldest.id;
    }
  }

  private sweep(): void {
    const now = Date.now();
    const expire = (log: HistoryLog) => this.expire(log, now);
    expire(this.broadcasts);
    this.users.sweep(expire);
    this.topics.sweep(expire);
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

/**
 * The frames of every log after `after`, in id order, each record once: one
 * stored in several logs comes out of each with the same id, one after the other.
 * A scan of the logs' heads per frame: a resume reads a few logs (at most
 * `SSE_LIMITS.topicsPerStream` + 2).
 */
function mergeAfter(after: SseEventId, logs: readonly RingBuffer<SseHistoryRecord>[]): SseFrame[] {
  const next = logs.map((records) => firstAfter(records, after));
  const frames: SseFrame[] = [];
  let last = after;
  for (;;) {
    let pick = -1;
    let oldest: SseHistoryRecord | undefined;
    for (let k = 0; k < logs.length; k++) {
      if (next[k] === logs[k].size) continue;
      const record = logs[k].at(next[k]);
      if (!oldest || compareEventIds(record.id, oldest.id) < 0) {
        pick = k;
        oldest = record;
      }
    }
    if (!oldest) return frames;
    next[pick]++;
    if (compareEventIds(oldest.id, last) > 0) frames.push(oldest.frame);
    last = oldest.id;
  }
}
