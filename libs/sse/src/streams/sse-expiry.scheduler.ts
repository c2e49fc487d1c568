/**
 * Token expiries of open streams, bucketed by the second (a JWT's `exp` has no
 * finer grain): one interval for every stream instead of a timer each, running
 * only while some stream is waiting to expire. Fires within a second of `exp`.
 */
export class SseExpiryScheduler<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private timer?: ReturnType<typeof setInterval>;

  constructor(private readonly onExpire: (item: T) => void) {}

  /** Returns the bucket to pass to `cancel()`. */
  schedule(item: T, atMs: number): number {
    const second = Math.ceil(atMs / 1000);
    let bucket = this.buckets.get(second);
    if (!bucket) this.buckets.set(second, (bucket = new Set()));
    bucket.add(item);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), 1000);
      this.timer.unref();
    }
    // Already due: expire on the next turn rather than inside the caller's subscribe.
    if (second * 1000 <= Date.now()) setImmediate(() => this.tick());
    return second;
  }

  cancel(item: T, second: number): void {
    const bucket = this.buckets.get(second);
    if (!bucket?.delete(item) || bucket.size > 0) return;
    this.buckets.delete(second);
    this.stopIfIdle();
  }

  private tick(): void {
    const now = Date.now();
    for (const [second, bucket] of this.buckets) {
      if (second * 1000 > now) continue;
      this.buckets.delete(second);
      bucket.forEach(this.onExpire);
    }
    this.stopIfIdle();
  }

  private stopIfIdle(): void {
    if (this.buckets.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
