import type { SseResetReason } from '@nest-sse/protocol';
import { Injectable } from '@nestjs/common';

/**
 * Why a stream was refused before any byte: 401, 403, 400, 429 (the user's
 * limit), past `maxConnections` (200 with a retry hint), 503 at shutdown, 503
 * when a cluster's slots could not be checked.
 *
 * @publicApi
 */
export type SseRefusalReason =
  'unauthorized' | 'forbidden' | 'bad_request' | 'per_user_limit' | 'global_cap' | 'shutting_down' | 'unavailable';

/**
 * Who a published event was for: `sendToUser`, `sendToUsers`, `broadcast`, `publish`.
 *
 * @publicApi
 */
export type SseTargetKind = 'user' | 'users' | 'broadcast' | 'topic';

/**
 * Why an open stream ended.
 *
 * @publicApi
 */
export type SseDisconnectReason = 'client_left' | 'token_expired' | 'slow_client' | 'disconnect_user' | 'shutdown';

/**
 * What `SseService.stats()` answers: this instance's figures since startup
 * (counts) and now (gauges); `@nest-sse/server/metrics` exports the same to Prometheus.
 *
 * @publicApi
 */
export interface SseStats {
  readonly openStreams: number;
  readonly connectedUsers: number;
  readonly liveTopics: number;
  readonly refused: Readonly<Record<SseRefusalReason, number>>;
  readonly published: {
    readonly byType: Readonly<Record<string, number>>;
    readonly byTarget: Readonly<Record<SseTargetKind, number>>;
  };
  /** Frames handed to streams' sinks (events, opening frames, heartbeats, resets). */
  readonly framesWritten: number;
  /** Events sent to resuming streams from history. */
  readonly eventsReplayed: number;
  /** Resets by reason, one per stream: to resuming streams, and (`history-lost`) to every open stream when the cluster's store lost events. */
  readonly resets: Readonly<Record<SseResetReason, number>>;
  readonly disconnects: Readonly<Record<SseDisconnectReason, number>>;
  /** Publish-to-write times of live events, once `@nest-sse/server/metrics` is imported (all zero before). */
  readonly publishToWrite: SsePublishToWriteStats;
}

/**
 * A histogram of the time from an event's publish to its frame handed to one
 * stream's sink, per stream written to (replays are not counted). Buckets are
 * cumulative, keyed by upper bound in seconds as Prometheus prints them
 * (`'0.001'` … `'+Inf'`). Times are whole milliseconds (`Date.now()`, or Redis
 * time with the Redis transport), so `'0.001'` holds everything under 2 ms.
 *
 * @publicApi
 */
export interface SsePublishToWriteStats {
  readonly buckets: Readonly<Record<string, number>>;
  readonly count: number;
  /** In seconds. */
  readonly sum: number;
}

/** Upper bounds (seconds) of the publish-to-write buckets: from this instance's own fan-out (ms) to a backed-up cluster (s). */
export const PUBLISH_TO_WRITE_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BUCKET_BOUNDS_MS = PUBLISH_TO_WRITE_BUCKETS.map((le) => le * 1000);

/** Event types counted one by one; past this many, the rest count as `other` (a metric label must stay bounded). */
export const MAX_COUNTED_EVENT_TYPES = 100;

const zero = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

/**
 * The module's counters: plain numbers bumped where things happen (a few per
 * connect, one per publish and per frame), read by `SseService.stats()` and by
 * the metrics entry when scraped, so metrics add nothing to the hot path.
 */
@Injectable()
export class SseStatsCollector {
  readonly refused = zero<SseRefusalReason>([
    'unauthorized',
    'forbidden',
    'bad_request',
    'per_user_limit',
    'global_cap',
    'shutting_down',
    'unavailable',
  ]);
  readonly byTarget = zero<SseTargetKind>(['user', 'users', 'broadcast', 'topic']);
  readonly byType = new Map<string, number>();
  readonly resets = zero<SseResetReason>([
    'malformed-id',
    'unknown-id',
    'too-old',
    'history-disabled',
    'history-unavailable',
    'history-lost',
  ]);
  readonly disconnects = zero<SseDisconnectReason>([
    'client_left',
    'token_expired',
    'slow_client',
    'disconnect_user',
    'shutdown',
  ]);
  framesWritten = 0;
  eventsReplayed = 0;
  /**
   * Whether writes are timed: off until the metrics entry asks (one clock read
   * per stream written to, the only cost metrics add to fan-out).
   */
  timing = false;
  /** Writes per bucket (not cumulative), the last one past the largest bound; kept small and flat for the write path. */
  private readonly latencyCounts = new Array<number>(BUCKET_BOUNDS_MS.length + 1).fill(0);
  private latencySumMs = 0;

  published(type: string, target: SseTargetKind): void {
    this.byTarget[target]++;
    const counted = this.byType.get(type);
    if (counted !== undefined) this.byType.set(type, counted + 1);
    else if (this.byType.size < MAX_COUNTED_EVENT_TYPES) this.byType.set(type, 1);
    else this.byType.set('other', (this.byType.get('other') ?? 0) + 1);
  }

  /** A live event's frame was written to a stream: `publishedAt` is its publish time (ms since the epoch). */
  /** `streams` writes of one frame, all made now (one clock read for a whole fan-out). */
  wrote(publishedAt: number, streams: number): void {
    // Never negative: Redis time and this host's clock may differ a little.
    const ms = Math.max(0, Date.now() - publishedAt);
    let i = 0;
    while (i < BUCKET_BOUNDS_MS.length && ms > BUCKET_BOUNDS_MS[i]) i++;
    this.latencyCounts[i] += streams;
    this.latencySumMs += ms * streams;
  }

  publishToWrite(): SsePublishToWriteStats {
    const buckets: Record<string, number> = {};
    let count = 0;
    PUBLISH_TO_WRITE_BUCKETS.forEach((le, i) => (buckets[String(le)] = count += this.latencyCounts[i]));
    count += this.latencyCounts[BUCKET_BOUNDS_MS.length];
    buckets['+Inf'] = count;
    return { buckets, count, sum: this.latencySumMs / 1000 };
  }
}
