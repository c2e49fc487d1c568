import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';

import { SseTransportError } from '../sse.exceptions.js';
import type { SsePresence, SsePresenceListener, SsePresenceSlot } from '../transport/sse-transport.interface.js';
import type { RedisScripts } from './redis.scripts.js';
import type { RedisSseKeys } from './redis-transport.options.js';

/** Slots renewed per script call, so a large instance never holds Redis up for long. */
const REFRESH_BATCH = 1000;
/**
 * How long a stream's open waits on its slot: a command sent as Redis went
 * away would otherwise wait for it to come back. A slot taken after this gave
 * up is nobody's, and expires.
 */
const ANSWER_TIMEOUT_MS = 2000;

/**
 * Streams across the cluster: a sorted set of slots per user (and one of all),
 * each scored by when it expires. The instance that holds a stream renews its
 * slot every `slotRefreshMs`; one that crashed stops, and its slots are gone
 * within `slotTtlMs`.
 *
 * The scripts that take and give back a slot answer with the user's count, so
 * the instance whose slot made it 0 -> 1 or 1 -> 0 tells its watchers: each
 * transition is reported once in the cluster. Slots that expire (an instance
 * crashed, Redis away past `slotTtlMs`) report nothing.
 */
export class RedisSsePresence implements SsePresence {
  private readonly logger = new Logger('RedisSseTransport');
  private readonly instanceId = randomUUID();
  private taken = 0;
  /** This instance's slots: member -> user. */
  private readonly live = new Map<string, string>();
  private refresher?: NodeJS.Timeout;
  private refreshFailed = false;
  private watchers: readonly SsePresenceListener[] = [];

  constructor(
    private readonly client: Redis & RedisScripts,
    private readonly keys: RedisSseKeys,
    private readonly timing: { slotTtlMs: number; slotRefreshMs: number },
  ) {}

  /** Refused at once while Redis is away: a new stream is not held waiting on it. */
  async acquire(userId: string, limit: number): Promise<SsePresenceSlot | undefined> {
    this.assertReachable();
    const member = `${this.instanceId}:${++this.taken}`;
    const held = await answered(
      this.client.sseAcquire(this.keys.slots(userId), this.keys.allSlots, limit, member, this.timing.slotTtlMs),
    );
    if (held === 0) return undefined;
    this.live.set(member, userId);
    if (held === 1) this.tell((watcher) => watcher.userOnline(userId));
    return { release: () => this.release(member) };
  }

  watch(listener: SsePresenceListener): () => void {
    this.watchers = [...this.watchers, listener];
    return () => {
      this.watchers = this.watchers.filter((other) => other !== listener);
    };
  }

  async count(userId?: string): Promise<number> {
    this.assertReachable();
    return answered(this.client.sseCount(userId === undefined ? this.keys.allSlots : this.keys.slots(userId)));
  }

  /** This instance's slots, for tests and metrics. */
  get size(): number {
    return this.live.size;
  }

  start(): void {
    this.refresher = setInterval(() => void this.refresh(), this.timing.slotRefreshMs);
    this.refresher.unref();
  }

  stop(): void {
    clearInterval(this.refresher);
  }

  private release(member: string): void {
    const userId = this.live.get(member);
    // Once: a relay's teardown may run after the slot was already given back.
    if (userId === undefined || !this.live.delete(member)) return;
    this.client.sseRelease(this.keys.slots(userId), this.keys.allSlots, member).then(
      (left) => {
        if (left === 0) this.tell((watcher) => watcher.userOffline(userId));
      },
      (err: unknown) => this.logger.warn(`releasing a slot failed (it expires): ${(err as Error)?.message ?? err}`),
    );
  }

  /** A watcher that throws is logged: it must not fail a stream's open nor the others. */
  private tell(notify: (watcher: SsePresenceListener) => void): void {
    for (const watcher of this.watchers) {
      try {
        notify(watcher);
      } catch (err) {
        this.logger.error(`a presence watcher threw: ${(err as Error)?.message ?? err}`);
      }
    }
  }

  private async refresh(): Promise<void> {
    // While Redis is away the renewals would only pile up in the offline queue; the next tick after it is back renews.
    if (this.client.status !== 'ready' || this.live.size === 0) return;
    const slots = [...this.live];
    try {
      for (let at = 0; at < slots.length; at += REFRESH_BATCH) {
        // Built when sent: a slot released meanwhile had its ZREM sent first, and must not come back.
        const batch = slots.slice(at, at + REFRESH_BATCH).filter(([member]) => this.live.has(member));
        if (batch.length === 0) continue;
        const keys = [this.keys.allSlots, ...batch.map(([, userId]) => this.keys.slots(userId))];
        await this.client.sseRefresh(keys.length, ...keys, this.timing.slotTtlMs, ...batch.map(([member]) => member));
      }
      this.refreshFailed = false;
    } catch (err) {
      if (!this.refreshFailed) this.logger.warn(`renewing stream slots failed: ${(err as Error)?.message ?? err}`);
      this.refreshFailed = true;
    }
  }

  private assertReachable(): void {
    if (this.client.status !== 'ready')
      throw new SseTransportError('Redis is unreachable: cannot count streams across the cluster');
  }
}

/** A command's reply, or `SseTransportError` when Redis gives none within ANSWER_TIMEOUT_MS (it went away as the command was sent). */
export function answered<T>(reply: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SseTransportError(`Redis did not answer within ${ANSWER_TIMEOUT_MS} ms`)),
      ANSWER_TIMEOUT_MS,
    );
  });
  return Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
}
