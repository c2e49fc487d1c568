import { Reflector } from '@nestjs/core';

import { SseEventError } from '../sse.exceptions.js';
import { SseBridgeMetadataAccessor } from './sse-bridge-metadata.accessor.js';
import { SseEventMapping } from './sse-event-mapping.decorator.js';

@SseEventMapping<Mapped>({ type: 'update', to: (e) => e.userId, data: (e) => ({ id: e.id }) })
class Mapped {
  constructor(
    readonly id: string,
    readonly userId: string,
    readonly secret = 'never sent',
  ) {}
}

class MappedChild extends Mapped {}

@SseEventMapping<Overridden>({ type: 'notification', to: 'all', data: () => 'child' })
class Overridden extends Mapped {}

const accessor = new SseBridgeMetadataAccessor(new Reflector());

describe('@SseEventMapping()', () => {
  it('is found on instances of the class and of its subclasses', () => {
    const mapping = accessor.getEventMapping(new Mapped('1', 'u'));
    expect(mapping).toMatchObject({ type: 'update', className: 'Mapped' });
    expect(mapping?.data(new Mapped('1', 'u'))).toEqual({ id: '1' });
    expect(typeof mapping?.to === 'function' ? mapping.to(new Mapped('1', 'u')) : mapping?.to).toBe('u');
    expect(accessor.getEventMapping(new MappedChild('2', 'v'))).toBe(mapping);
    expect(accessor.getEventMapping(new Overridden('3', 'w'))).toMatchObject({ type: 'notification', to: 'all' });
  });

  it('ignores anything that is not an instance of a mapped class', () => {
    for (const payload of [undefined, null, 1, 'x', {}, [], { constructor: Mapped }, Object.create(null), new Date()]) {
      expect(accessor.getEventMapping(payload)).toBeUndefined();
    }
  });

  it('refuses incomplete or unsafe mappings when the class is defined', () => {
    const ok = { type: 'update', to: 'all' as const, data: () => null };
    expect(() => SseEventMapping({ ...ok, type: 'bad type' })).toThrow(SseEventError);
    expect(() => SseEventMapping({ ...ok, to: 'everyone' as 'all' })).toThrow(/'to' must be/);
    expect(() => SseEventMapping({ ...ok, data: undefined as never })).toThrow(/'data' must be a function/);
    expect(() => SseEventMapping(undefined as never)).toThrow(SseEventError);
  });

  it('takes to: { topic }, keeping its own frozen copy of it', () => {
    const to = { topic: (e: { orderId: string }) => `orders/${e.orderId}` };
    @SseEventMapping<OrderShipped>({ type: 'update', to, data: () => null })
    class OrderShipped {
      constructor(readonly orderId: string) {}
    }
    to.topic = () => 'changed/later';
    const mapping = accessor.getEventMapping(new OrderShipped('7'));
    const mapped = mapping?.to;
    if (typeof mapped !== 'object') throw new Error(`expected { topic }, got ${String(mapped)}`);
    expect(mapped.topic(new OrderShipped('7'))).toBe('orders/7');
    expect(Object.isFrozen(mapped)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a topic that is not a function', { topic: 'orders/1' }],
    ['an object with no topic', {}],
    ['a topic beside another key', { topic: () => 'orders/1', userId: () => 'u' }],
    ['null', null],
  ])("refuses to: %s, naming what 'to' may be", (_, to) => {
    expect(() => SseEventMapping({ type: 'update', to: to as 'all', data: () => null })).toThrow(
      "@SseEventMapping(): 'to' must be 'all', a function of the event returning user id(s), or { topic } with a function of the event returning topic name(s)",
    );
  });

  it('cannot be applied twice to one class', () => {
    const decorate = SseEventMapping({ type: 'a', to: 'all', data: () => null });
    class Once {}
    decorate(Once);
    expect(() => decorate(Once)).toThrow(/applied twice/);
  });
});
