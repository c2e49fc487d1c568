/**
 * Wall-clock milliseconds with sub-millisecond resolution. Every process of the
 * benchmark runs on the same machine, so a stamp taken by a server can be
 * subtracted from one taken by the load generator.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lets pending I/O callbacks run between batches of synchronous work. */
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
