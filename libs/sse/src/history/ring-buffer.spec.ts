import { RING_BUFFER_INITIAL_SLOTS, RingBuffer } from './ring-buffer.js';

const contents = <T>(buffer: RingBuffer<T>): T[] => Array.from({ length: buffer.size }, (_, i) => buffer.at(i));

describe('RingBuffer', () => {
  it('starts with a few slots, not with its capacity', () => {
    const buffer = new RingBuffer<number>(1000);
    expect(buffer.slots).toBe(RING_BUFFER_INITIAL_SLOTS);
    expect(buffer.size).toBe(0);
    expect(buffer.peekOldest()).toBeUndefined();
    expect(buffer.peekNewest()).toBeUndefined();
  });

  it('with capacity 1 holds one item and drops the previous one on each push', () => {
    const buffer = new RingBuffer<string>(1);
    expect(buffer.slots).toBe(1);
    expect(buffer.push('a')).toBeUndefined();
    expect(buffer.push('b')).toBe('a');
    expect(buffer.push('c')).toBe('b');
    expect(contents(buffer)).toEqual(['c']);
    expect(buffer.slots).toBe(1);
    expect(buffer.shift()).toBe('c');
    expect(buffer.size).toBe(0);
    expect(buffer.push('d')).toBeUndefined();
    expect(contents(buffer)).toEqual(['d']);
  });

  it('doubles its slots when full, keeping the order across a wrap-around', () => {
    const buffer = new RingBuffer<number>(100, 4);
    for (let n = 1; n <= 4; n++) buffer.push(n);
    buffer.shift();
    buffer.shift(); // the oldest now sits in slot 2
    buffer.push(5);
    buffer.push(6); // these two wrap around to slots 0 and 1
    expect(buffer.slots).toBe(4);
    expect(contents(buffer)).toEqual([3, 4, 5, 6]);

    expect(buffer.push(7)).toBeUndefined(); // full below capacity: grows instead of dropping
    expect(buffer.slots).toBe(8);
    expect(contents(buffer)).toEqual([3, 4, 5, 6, 7]);
    expect(buffer.peekOldest()).toBe(3);
    expect(buffer.peekNewest()).toBe(7);
    for (let n = 8; n <= 11; n++) buffer.push(n);
    expect(buffer.slots).toBe(16);
    expect(contents(buffer)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('grows to exactly its capacity, then overwrites the oldest', () => {
    const buffer = new RingBuffer<number>(6, 4);
    for (let n = 1; n <= 6; n++) expect(buffer.push(n)).toBeUndefined();
    expect(buffer.slots).toBe(6); // not 8: never more than the capacity
    expect(buffer.push(7)).toBe(1);
    expect(buffer.push(8)).toBe(2);
    expect(buffer.slots).toBe(6);
    expect(contents(buffer)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(buffer.peekNewest()).toBe(8);
    // Emptied and refilled after overwriting, it stays within its slots and in order.
    while (buffer.size) buffer.shift();
    for (let n = 9; n <= 15; n++) buffer.push(n);
    expect(contents(buffer)).toEqual([10, 11, 12, 13, 14, 15]);
    expect(buffer.slots).toBe(6);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, NaN]) expect(() => new RingBuffer(bad)).toThrow(/capacity must be an integer >= 1/);
  });
});
