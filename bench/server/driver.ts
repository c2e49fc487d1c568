import { now, yieldToIo } from '../shared/clock.js';
import { padding, seededRandom, userId } from '../shared/payload.js';
import type { BenchPayload, SendReport } from '../shared/protocol.js';
import type { Publisher } from './publisher.js';

/** All events back to back, as an app announcing something would. */
export function sendBroadcast(publisher: Publisher, count: number, bytes: number): SendReport {
  const p = padding(bytes);
  const startedAt = now();
  for (let s = 0; s < count; s++) {
    publisher.broadcast('update', { k: 'b', s, t: now(), p } satisfies BenchPayload);
  }
  return { sent: count, startedAt, endedAt: now(), capped: false };
}

export interface TargetedOptions {
  count: number;
  users: number;
  bytes: number;
  batch: number;
  timeCapMs: number;
  seed: number;
}

/**
 * Events to users drawn by a seeded PRNG (the same sequence for every variant),
 * in batches with I/O in between. Stops early at the time cap, which only a
 * sender that costs O(connections) per event reaches; the report says so.
 */
export async function sendTargeted(publisher: Publisher, options: TargetedOptions): Promise<SendReport> {
  const p = padding(options.bytes);
  const random = seededRandom(options.seed);
  const perUser = new Array<number>(options.users).fill(0);
  const startedAt = now();
  let sent = 0;
  while (sent < options.count) {
    const end = Math.min(options.count, sent + options.batch);
    for (; sent < end; sent++) {
      const user = Math.floor(random() * options.users);
      publisher.sendToUser(userId(user), 'notification', { k: 't', s: perUser[user]++, t: now(), p } satisfies BenchPayload);
    }
    if (now() - startedAt > options.timeCapMs) break;
    await yieldToIo();
  }
  return { sent, perUser, startedAt, endedAt: now(), capped: sent < options.count };
}
