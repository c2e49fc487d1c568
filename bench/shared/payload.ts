import type { BenchPayload } from './protocol.js';

/**
 * Padding that brings an event's JSON data to about `bytes` characters, measured
 * on a representative payload (the sequence and time digits vary a little).
 */
export function padding(bytes: number): string {
  const sample: BenchPayload = { k: 'b', s: 1234, t: 1_700_000_000_000.123, p: '' };
  return 'x'.repeat(Math.max(0, bytes - JSON.stringify(sample).length));
}

/** A small seeded PRNG (mulberry32), so every variant gets the same targeted user sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function userId(index: number): string {
  return `u${index}`;
}

/** The topic every stream subscribes to in the topic phase: one topic with N subscribers. */
export const ONE_TOPIC = 'bench/all';

/** The i-th of the topic phase's many topics. */
export function topicName(index: number): string {
  return `bench/${index}`;
}

/** Which of the many topics stream `client` is in: consecutive streams in different topics, `clients / topics` in each. */
export function topicOf(client: number, topics: number): number {
  return client % topics;
}
