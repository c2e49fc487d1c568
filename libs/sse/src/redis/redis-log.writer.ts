import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';

import { SseTransportError } from '../sse.exceptions.js';
import type { SseAudience } from '../transport/sse-transport.interface.js';
import type { RedisScripts } from './redis.scripts.js';
import type { ResolvedRedisSseTransportOptions } from './redis-transport.options.js';

/**
 * Bounds of one batch, so no script holds Redis for long: events, stream writes
 * (one to the log and one per history log each), and characters of data those
 * writes carry. An event past one of them alone goes in a batch of its own.
 */
const MAX_BATCH_EVENTS = 500;
const MAX_BATCH_WRITES = 2000;
const MAX_BATCH_CHARS = 1_000_000;

interface Batch {
  /** KEYS then ARGV of the publish script, but for the numbers in front. */
  keys: string[];
  args: string[];
  types: string[];
  writes: number;
  chars: number;
}

/**
 * Writes published events into the cluster log. The events of one event-loop
 * turn go to Redis as one script call (a command per event cost more CPU here
 * than anything else in a publish); calls go out in order on one connection,
 * so the log keeps each publisher's order. Counts per event what waits and
 * what failed, which bounds the queue while Redis is away.
 *
 * Each call carries the newest id this instance delivered (its floor): Redis
 * gives the events greater ids even when its log went back below it (an older
 * snapshot, a clock behind), so this instance's streams never get an id at or
 * before one they had. After the connection was lost, calls also ask the script
 * to check first whether Redis lost events since (and to record the restart
 * point if so), so events published then come after the streams' reset. Batches
 * are numbered, and Redis keeps this instance's last number: a batch that ioredis
 * sends again after its reply was lost with the connection is written once.
 */
export class RedisLogWriter {
  private readonly logger = new Logger('RedisSseTransport');
  private readonly bounds: string[];
  private batch?: Batch;
  private pending = 0;
  private failed = 0;
  /** Set at a close() while Redis was away: what still waited was counted as failed then. */
  private abandoned = false;
  /** Connections lost so far, and how many of them a publish that checked Redis came after. */
  private disconnects = 0;
  private checked = 0;
  /** This instance's key in Redis (its last batch number), and the number of the last batch sent. */
  private readonly writerKey: string;
  private batches = 0;

  constructor(
    private readonly client: Redis & RedisScripts,
    private readonly options: ResolvedRedisSseTransportOptions,
    /** What this instance delivered (see `RedisLogReader.floor`). */
    private readonly floor: () => { id: string; entry: boolean },
  ) {
    const { logMaxLen, maxEvents, ttlMs } = options;
    this.bounds = [String(logMaxLen), String(maxEvents), String(ttlMs)];
    this.writerKey = options.keys.writer(randomUUID());
    client.on('close', () => this.disconnects++);
  }

  /** Events handed over and not yet written to Redis. */
  pendingCount(): number {
    return this.pending;
  }

  /** Events that Redis finally refused or that still waited at `abandon()`. */
  failedCount(): number {
    return this.failed;
  }

  /** Queues an event for this turn's batch; throws `SseTransportError` while Redis is away and `maxPendingPublishes` wait. */
  write(audience: SseAudience, type: string, data: string): void {
    const { keys, maxPendingPublishes } = this.options;
    if (this.pending >= maxPendingPublishes && this.client.status !== 'ready') {
      throw new SseTransportError(
        `RedisSseTransport: Redis is unreachable and ${this.pending} publishes already wait for it (maxPendingPublishes): the event was not sent`,
      );
    }
    let history: string[];
    let field: string;
    let value: string;
    if (audience.kind === 'users') {
      const userIds = audience.userIds.length === 1 ? audience.userIds : [...new Set(audience.userIds)];
      if (userIds.length === 0) return;
      history = userIds.map((userId) => keys.user(userId));
      field = 'u';
      value = JSON.stringify(userIds);
    } else if (audience.kind === 'topic') {
      history = [keys.topic(audience.topic)];
      field = 't';
      value = audience.topic;
    } else {
      history = [keys.broadcasts];
      field = value = '';
    }
    const writes = 1 + history.length;
    const chars = data.length * writes;
    if (this.batch && (this.batch.writes + writes > MAX_BATCH_WRITES || this.batch.chars + chars > MAX_BATCH_CHARS))
      this.flush();
    const batch = this.batch ?? this.open();
    for (const key of history) batch.keys.push(key);
    batch.args.push(type, data, field, value, String(history.length));
    batch.types.push(type);
    batch.writes += writes;
    batch.chars += chars;
    this.pending++;
    if (batch.types.length >= MAX_BATCH_EVENTS) this.flush();
  }

  /** Sends the batch being filled, if any. */
  flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    const { log, epoch, restart } = this.options.keys;
    const { id, entry } = this.floor();
    // Sent after a lost connection (queued while Redis was away, or sent since): Redis may have come back without events.
    const lost = this.disconnects;
    const check = lost > this.checked;
    const floor = [id, entry ? '1' : '0', check ? '1' : '0', String(++this.batches)];
    this.client
      .ssePublish(
        4 + batch.keys.length,
        log,
        epoch,
        restart,
        this.writerKey,
        batch.keys,
        this.bounds,
        floor,
        batch.args,
      )
      .then(
        () => {
          if (check) this.checked = Math.max(this.checked, lost);
          if (!this.abandoned) this.pending -= batch.types.length;
        },
        (err: unknown) => {
          if (this.abandoned) return;
          this.pending -= batch.types.length;
          this.failed += batch.types.length;
          // The types only: data may be personal.
          this.logger.error(`publishing ${describe(batch.types)} failed: ${(err as Error)?.message ?? err}`);
        },
      );
  }

  /** At a close() with Redis away: what waits will not be sent (ioredis leaves it unsettled), so it is counted and said here. */
  abandon(): void {
    this.flush();
    this.abandoned = true;
    if (this.pending > 0) {
      this.failed += this.pending;
      this.logger.error(`closed while Redis was unreachable: ${this.pending} waiting publishes were not sent`);
      this.pending = 0;
    }
  }

  private open(): Batch {
    const batch: Batch = { keys: [], args: [], types: [], writes: 0, chars: 0 };
    this.batch = batch;
    // setImmediate rather than a microtask: it also gathers the sends of the other
    // I/O callbacks of this turn (requests handled side by side), at a turn's latency.
    setImmediate(() => {
      if (this.batch === batch) this.flush();
    });
    return batch;
  }
}

/** "a 'note' event", or "3 events ('note' x2, 'order')". */
function describe(types: readonly string[]): string {
  if (types.length === 1) return `a '${types[0]}' event`;
  const counts = new Map<string, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  const list = [...counts].map(([type, n]) => (n === 1 ? `'${type}'` : `'${type}' x${n}`)).join(', ');
  return `${types.length} events (${list})`;
}
