import { ConditionWaiter } from './condition-waiter.js';

/**
 * Holds every caller of `pass()` (an async guard or hook under test) until the
 * test opens it, and counts who arrived: a test can line requests up inside a
 * guard, act on them (close their sockets, let them race), then release them.
 */
export class Gate {
  arrived = 0;
  private opened = false;
  private waiting: Array<() => void> = [];
  private readonly changes = new ConditionWaiter();

  /** Resolves once the gate is open; resolves at once if it is. */
  async pass(): Promise<void> {
    this.arrived++;
    this.changes.notify();
    if (this.opened) return;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Resolves once `count` callers have arrived since the last reset. */
  untilArrived(count: number, timeoutMs = 5000): Promise<void> {
    return this.changes.until(
      () => this.arrived >= count,
      timeoutMs,
      `${count} callers at the gate (${this.arrived} so far)`,
    );
  }

  open(): void {
    this.opened = true;
    const waiting = this.waiting;
    this.waiting = [];
    waiting.forEach((resolve) => resolve());
  }

  /** Closed again, nobody counted (whoever still waits is let through first). */
  reset(): void {
    this.open();
    this.opened = false;
    this.arrived = 0;
  }
}
