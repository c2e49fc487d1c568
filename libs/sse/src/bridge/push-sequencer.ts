import { isThenable } from '../utils/is-thenable.js';

export interface PushSequencerOptions<L, V> {
  /** Milliseconds an unsettled value may hold back the ones behind it; 0 waits forever. */
  timeoutMs: number;
  /** Values queued (settled or not) behind an unsettled one before new ones are refused. */
  maxPending: number;
  /** Called in submission order, once per value that settled in time. Must not throw. */
  deliver(label: L, value: V): void;
  /** The value did not settle in time: it is dropped and the queue moves on. */
  onTimeout(label: L): void;
  /** A value that timed out settled after all (it was already dropped). */
  onLate(label: L): void;
  /** The value could not be queued because `maxPending` were already waiting. */
  onOverflow(label: L): void;
  /** A promise rejected: nothing is delivered for it. */
  onRejected(label: L, error: unknown): void;
}

interface Slot<L, V> {
  readonly label: L;
  state: 'pending' | 'ready' | 'dropped';
  value?: V;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Delivers values in the order they were submitted, whether each one was already
 * there or arrives later through a promise. A plain value submitted while nothing
 * waits is delivered at once, inside `submit()`; otherwise it queues behind the
 * unsettled ones, so a fast synchronous push never overtakes a slow async one
 * submitted before it. One queue for everything: a handler's audience is only
 * known once it has settled, so per-user queues could not be chosen in advance.
 * The timeout bounds how long one stuck handler can hold the queue.
 */
export class PushSequencer<L, V> {
  private readonly queue: Slot<L, V>[] = [];
  private closed = false;

  constructor(private readonly options: PushSequencerOptions<L, V>) {}

  /** Values waiting (settled or not) behind the oldest unsettled one. */
  get pending(): number {
    return this.queue.length;
  }

  submit(label: L, value: V | PromiseLike<V>): void {
    if (this.closed) return;
    if (!isThenable(value) && this.queue.length === 0) {
      this.options.deliver(label, value);
      return;
    }
    if (this.queue.length >= this.options.maxPending) {
      this.options.onOverflow(label);
      return;
    }
    if (!isThenable(value)) {
      this.queue.push({ label, state: 'ready', value });
      return;
    }
    const slot: Slot<L, V> = { label, state: 'pending' };
    this.queue.push(slot);
    if (this.options.timeoutMs > 0) {
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        if (slot.state !== 'pending' || this.closed) return;
        slot.state = 'dropped';
        this.options.onTimeout(label);
        this.drain();
      }, this.options.timeoutMs);
      slot.timer.unref?.();
    }
    value.then(
      (settled) => this.settle(slot, 'ready', settled),
      (error: unknown) => {
        if (slot.state === 'pending' && !this.closed) this.options.onRejected(label, error);
        this.settle(slot, 'dropped');
      },
    );
  }

  /** Drops whatever waits and clears every timer; later submissions are ignored. */
  close(): void {
    this.closed = true;
    for (const slot of this.queue) {
      if (slot.timer) clearTimeout(slot.timer);
    }
    this.queue.length = 0;
  }

  private settle(slot: Slot<L, V>, state: 'ready' | 'dropped', value?: V): void {
    if (slot.timer) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
    }
    if (this.closed) return;
    if (slot.state !== 'pending') {
      if (state === 'ready') this.options.onLate(slot.label);
      return;
    }
    slot.state = state;
    slot.value = value;
    this.drain();
  }

  private drain(): void {
    while (this.queue.length > 0 && this.queue[0].state !== 'pending') {
      const slot = this.queue.shift()!;
      if (slot.state === 'ready') this.options.deliver(slot.label, slot.value as V);
    }
  }
}
