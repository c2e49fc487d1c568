import { compareEventIds, parseEventId, type SseEventId } from '@nest-sse/protocol';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';

import type { SseAudience, SseDeliveryTarget } from '../transport/sse-transport.interface.js';
import { resetFrame, SseFrame } from '../wire/sse-frame.js';
import type { RedisScripts } from './redis.scripts.js';
import type { RedisSseKeys } from './redis-transport.options.js';

/** How long one XREAD waits for new entries: also how long `stop()` may wait on it at most. */
const BLOCK_MS = 1000;
const BATCH = 500;
const MAX_BACKOFF_MS = 2000;
const ZERO = '0-0';

type StreamEntry = [id: string, fields: string[]];

/**
 * Reads the cluster log on a connection of its own (XREAD blocks it) and hands
 * each entry to this instance's streams, once and in log order: its position
 * only ever moves forward, so no stream gets an id at or before one it had.
 * When Redis is away it retries (at once when its connection is back) and
 * resumes after the last id it delivered, so what was published meanwhile still
 * arrives. When Redis came back without events it had read (an older snapshot,
 * or empty), every stream here gets a `history-lost` reset at the restart point,
 * after which nothing was lost.
 */
export class RedisLogReader {
  private readonly logger = new Logger('RedisSseTransport');
  private lastId = ZERO;
  /** Whether lastId is the id of an entry read from the log (not a position without one: at boot, a restart point). */
  private lastIsEntry = false;
  /** lastId parsed, when something asked: most events are delivered without anyone comparing ids. */
  private lastParsed?: SseEventId;
  private target?: SseDeliveryTarget;
  private running?: Promise<void>;
  private stopped = false;
  /** Redis was away and the reader has not yet checked what it came back with. */
  private outage = false;
  private wake?: () => void;
  private backoff?: NodeJS.Timeout;
  /** Who waits for the reader to reach an id (a resume from an id another instance delivered first). */
  private waiters: { id: SseEventId; done: () => void }[] = [];
  /** Who waits for the reader to have checked Redis after an outage. */
  private settling: (() => void)[] = [];

  constructor(
    private readonly client: Redis & RedisScripts,
    private readonly keys: Pick<RedisSseKeys, 'log' | 'epoch' | 'restart'>,
  ) {
    // Its connection is back: no need to wait out the backoff.
    client.on('ready', () => this.wake?.());
  }

  /** The newest id delivered here. */
  position(): string {
    return this.lastId;
  }

  /** What this instance has delivered: the floor of the ids it publishes, and what it checks Redis still holds. */
  floor(): { id: string; entry: boolean } {
    return { id: this.lastId, entry: this.lastIsEntry };
  }

  /**
   * Resolves true once the reader is reading (at once, unless Redis was away and
   * the reader has not checked what it came back with yet), false after `timeoutMs`.
   */
  settled(timeoutMs: number): Promise<boolean> {
    if (!this.outage || this.stopped) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.settling = this.settling.filter((w) => w !== settle);
        resolve(ok);
      };
      const settle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.settling.push(settle);
    });
  }

  /** Starts after `fromId` (the log's newest entry at bootstrap): the instance's streams get what is published from then on. */
  start(target: SseDeliveryTarget, fromId: string): void {
    this.target = target;
    this.moveTo(fromId, false);
    this.running = this.loop();
  }

  /** Resolves once the reader delivered `id` (true), or after `timeoutMs` (false). */
  reached(id: SseEventId, timeoutMs: number): Promise<boolean> {
    if (compareEventIds(this.last, id) >= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { id, done: () => resolve(true) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      waiter.done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(waiter);
    });
  }

  /** Stops reading: the connection is dropped, which ends a blocked XREAD at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const settle of this.settling.splice(0)) settle();
    clearTimeout(this.backoff);
    this.wake?.();
    this.client.disconnect();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.outage) {
          await this.checkRestart();
          this.outage = false;
          this.logger.log(`Redis is back: reading the cluster log after ${this.lastId}`);
          for (const settle of this.settling.splice(0)) settle();
        }
        const reply = await this.client.xread('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.keys.log, this.lastId);
        failures = 0;
        for (const [, entries] of reply ?? []) for (const entry of entries) this.deliver(entry);
      } catch (err) {
        if (this.stopped) return;
        if (!this.outage) {
          this.outage = true;
          this.logger.warn(
            `cannot read the cluster log (${(err as Error)?.message ?? err}): retrying until Redis is back`,
          );
        }
        await this.sleep(Math.min(100 * 2 ** failures++, MAX_BACKOFF_MS));
      }
    }
  }

  /**
   * After an outage: whether Redis still holds what this reader delivered (it
   * does after a mere disconnect, or a restart from an append-only file that
   * kept every write). When it does not (an older snapshot, or empty), events may
   * have been lost that some streams here never got: the script finds (or records)
   * the restart point, an entry of the log above everything it held. The reader
   * reads up to it at once: the events published after the restart and before the
   * point was recorded (greater ids than this reader's position), then the point
   * itself, which gives every stream its reset. Nothing at or before the position
   * is delivered again: those streams had it, or it is gone with the data.
   */
  private async checkRestart(): Promise<void> {
    const { log, epoch, restart } = this.keys;
    const point = await this.client.sseRestart(log, epoch, restart, this.lastId, this.lastIsEntry ? '1' : '0');
    if (point === null) return;
    for (let batch: StreamEntry[] = []; ;) {
      batch = await this.client.xrange(log, `(${this.lastId}`, point, 'COUNT', BATCH);
      for (const entry of batch) this.deliver(entry);
      if (batch.length < BATCH) break;
    }
    // The point's entry is gone (trimmed away, or Redis lost it again): the streams get their reset all the same.
    if (compareEventIds(this.last, parseEventId(point)!) < 0) this.restarted(point, false);
  }

  /** Redis lost events up to `point`, the restart point: every stream here gets a reset with its id, and reading goes on after it. */
  private restarted(point: string, entry: boolean): void {
    this.moveTo(point, entry);
    this.logger.warn(
      `Redis came back without events it had (restarted from an older snapshot, or empty): every stream gets a reset (history-lost) at ${point}`,
    );
    try {
      if (this.target?.reset) this.target.reset('history-lost', point);
      else this.target?.deliver(ALL, resetFrame('history-lost', point));
    } catch (err) {
      this.logger.error(`delivering the reset at ${point} failed: ${(err as Error)?.message ?? err}`);
    }
    this.reachedUpTo();
  }

  private deliver([id, fields]: StreamEntry): void {
    let type: string | undefined;
    let data: string | undefined;
    let audience: SseAudience = ALL;
    let topic: string | undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const value = fields[i + 1];
      switch (fields[i]) {
        case 'r':
          // A restart point (see RESTART_MARK_FIELDS), met in log order, however far behind this reader was.
          return this.restarted(id, true);
        case 'type':
          type = value;
          break;
        case 'data':
          data = value;
          break;
        case 'u':
          audience = { kind: 'users', userIds: JSON.parse(value) as string[] };
          break;
        case 't':
          audience = { kind: 'topic', topic: value };
          topic = value;
          break;
      }
    }
    this.moveTo(id, true);
    try {
      // Published when Redis wrote it: an entry id's first part is Redis time in ms.
      this.target?.deliver(audience, new SseFrame({ type, id, data, publishedAt: parseInt(id, 10), topic }));
    } catch (err) {
      this.logger.error(`delivering ${id} (${type}) failed: ${(err as Error)?.message ?? err}`);
    }
    this.reachedUpTo();
  }

  /** Tells the waiters for an id at or before the position. */
  private reachedUpTo(): void {
    if (this.waiters.length > 0) {
      this.waiters = this.waiters.filter((waiter) => {
        if (compareEventIds(waiter.id, this.last) > 0) return true;
        waiter.done();
        return false;
      });
    }
  }

  private moveTo(id: string, entry: boolean): void {
    this.lastId = id;
    this.lastIsEntry = entry;
    this.lastParsed = undefined;
  }

  private get last(): SseEventId {
    return (this.lastParsed ??= parseEventId(this.lastId) ?? { ms: 0, seq: 0 });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.backoff = setTimeout(resolve, ms);
    });
  }
}

const ALL: SseAudience = Object.freeze({ kind: 'all' });
