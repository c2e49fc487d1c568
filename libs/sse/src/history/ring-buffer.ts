/**
 * Slots a new buffer starts with. Most logs hold a handful of events (a user who
 * got one `sendToUser`), so a buffer sized to `capacity` up front would cost
 * `capacity` × 8 bytes per user for nothing.
 */
export const RING_BUFFER_INITIAL_SLOTS = 4;

/**
 * A FIFO of at most `capacity` items. Its storage starts small and doubles as it
 * fills, up to `capacity`; past that, pushing drops (and returns) the oldest item, in O(1).
 */
export class RingBuffer<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    initialSlots = RING_BUFFER_INITIAL_SLOTS,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`RingBuffer: capacity must be an integer >= 1, got ${capacity}`);
    this.items = new Array<T | undefined>(Math.min(capacity, Math.max(1, initialSlots)));
  }

  get size(): number {
    return this.count;
  }

  /** Slots allocated now: what the buffer costs, between its initial size and `capacity`. */
  get slots(): number {
    return this.items.length;
  }

  push(item: T): T | undefined {
    if (this.count === this.items.length && this.count < this.capacity) this.grow();
    const slots = this.items.length;
    if (this.count < slots) {
      this.items[(this.head + this.count) % slots] = item;
      this.count++;
      return undefined;
    }
    const dropped = this.items[this.head];
    this.items[this.head] = item;
    this.head = (this.head + 1) % slots;
    return dropped;
  }

  peekOldest(): T | undefined {
    return this.count ? this.items[this.head] : undefined;
  }

  peekNewest(): T | undefined {
    return this.count ? this.items[(this.head + this.count - 1) % this.items.length] : undefined;
  }

  shift(): T | undefined {
    if (!this.count) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  at(index: number): T {
    return this.items[(this.head + index) % this.items.length] as T;
  }

  /** Doubles the storage (up to `capacity`), unwrapping the items to start at slot 0. */
  private grow(): void {
    const slots = this.items.length;
    const items = new Array<T | undefined>(Math.min(this.capacity, slots * 2));
    for (let i = 0; i < this.count; i++) items[i] = this.items[(this.head + i) % slots];
    this.items = items;
    this.head = 0;
  }
}
