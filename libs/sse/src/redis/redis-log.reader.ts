import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { compareEventIds, parseEventId, type SseEventId } from '../sse-event-id.js';
import { SseFrame } from '../sse-frame.js';
import type { SseAudience, SseDeliveryTarget } from '../transport/sse-transport.interface.js';

/** How long one XREAD waits for new entries: also how long `stop()` may wait on it at most. */
const BLOCK_MS = 1000;
const BATCH = 500;
const MAX_BACKOFF_MS = 2000;
const ZERO = '0-0';

type StreamEntry = [id: string, fields: string[]];

/**
 * Reads the cluster log on a connection of its own (XREAD blocks it) and hands
 * each entry to this instance's streams, once and in log order. When Redis is
 * away it retries with backoff and resumes after the last id it delivered, so
 * what was published meanwhile still arrives.
 */
export class RedisLogReader {
  private readonly logger = new Logger('RedisSseTransport');
  private lastId = ZERO;
  /** lastId parsed, when something asked: most events are delivered without anyone comparing ids. */
  private lastParsed?: SseEventId;
  private target?: SseDeliveryTarget;
  private running?: Promise<void>;
  private stopped = false;
  private outage = false;
  private wake?: () => void;
  private backoff?: NodeJS.Timeout;
  /** Who waits for the reader to reach an id (a resume from an id another instance delivered first). */
  private waiters: { id: SseEventId; done: () => void }[] = [];

  constructor(
    private readonly client: Redis,
    private readonly log: string,
  ) {}

  /** The newest id delivered here. */
  position(): string {
    return this.lastId;
  }

  /** Starts after `fromId` (the log's newest entry at bootstrap): the instance's streams get what is published from then on. */
  start(target: SseDeliveryTarget, fromId: string): void {
    this.target = target;
    this.moveTo(fromId);
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
    clearTimeout(this.backoff);
    this.wake?.();
    this.client.disconnect();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.outage) await this.checkRestart();
        const reply = (await this.client.xread('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.log, this.lastId)) as
          | [string, StreamEntry[]][]
          | null;
        if (this.outage) {
          this.outage = false;
          this.logger.log(`Redis is back: reading the cluster log after ${this.lastId}`);
        }
        failures = 0;
        for (const [, entries] of reply ?? []) for (const entry of entries) this.deliver(entry);
      } catch (err) {
        if (this.stopped) return;
        if (!this.outage) {
          this.outage = true;
          this.logger.warn(`cannot read the cluster log (${(err as Error)?.message ?? err}): retrying until Redis is back`);
        }
        await this.sleep(Math.min(100 * 2 ** failures++, MAX_BACKOFF_MS));
      }
    }
  }

  /**
   * Redis came back without the log it had (restarted without persistence):
   * ids start over from the new log's beginning, and clients holding old ids
   * get `unknown-id` from history.
   */
  private async checkRestart(): Promise<void> {
    const newest = await this.newestId();
    // A missing log is read from lastId on: what is published into it now has greater ids.
    if (newest !== undefined && compareEventIds(parseEventId(newest)!, this.last) < 0) {
      this.logger.warn(`the cluster log restarted (Redis lost its data): reading it from its beginning`);
      this.moveTo(ZERO);
    }
  }

  private deliver([id, fields]: StreamEntry): void {
    let type: string | undefined;
    let data: string | undefined;
    let audience: SseAudience = ALL;
    let topic: string | undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const value = fields[i + 1];
      switch (fields[i]) {
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
    this.moveTo(id);
    try {
      // Published when Redis wrote it: an entry id's first part is Redis time in ms.
      this.target?.deliver(audience, new SseFrame({ type, id, data, publishedAt: parseInt(id, 10), topic }));
    } catch (err) {
      this.logger.error(`delivering ${id} (${type}) failed: ${(err as Error)?.message ?? err}`);
    }
    if (this.waiters.length > 0) {
      this.waiters = this.waiters.filter((waiter) => {
        if (compareEventIds(waiter.id, this.last) > 0) return true;
        waiter.done();
        return false;
      });
    }
  }

  private moveTo(id: string): void {
    this.lastId = id;
    this.lastParsed = undefined;
  }

  private get last(): SseEventId {
    return (this.lastParsed ??= parseEventId(this.lastId) ?? { ms: 0, seq: 0 });
  }

  private newestId(): Promise<string | undefined> {
    return newestLogId(this.client, this.log);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.backoff = setTimeout(resolve, ms);
    });
  }
}

/** The id of a stream's newest entry, if it has one. */
export async function newestLogId(client: Redis, key: string): Promise<string | undefined> {
  const [newest] = (await client.xrevrange(key, '+', '-', 'COUNT', 1)) as StreamEntry[];
  return newest?.[0];
}

const ALL: SseAudience = Object.freeze({ kind: 'all' });
