/**
 * The heartbeat tick, pushed through each user's channel beside the frames (one
 * `next()` per user, not a timer or subscription per stream). Each stream turns
 * it into a `: heartbeat` comment or a named event carrying its own last id.
 */
export const HEARTBEAT_TICK: unique symbol = Symbol('sse.heartbeat-tick');
export type HeartbeatTick = typeof HEARTBEAT_TICK;

/** One interval for the whole module, running only while at least one stream is open. */
export class SseHeartbeatTimer {
  private timer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly intervalMs: number,
    private readonly onTick: () => void,
  ) {}

  /** Called with the number of open streams after every change. */
  update(openStreams: number): void {
    if (openStreams > 0 && !this.timer && this.intervalMs > 0) {
      this.timer = setInterval(this.onTick, this.intervalMs);
      // A heartbeat alone should not keep a process alive.
      this.timer.unref();
    } else if (openStreams === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
