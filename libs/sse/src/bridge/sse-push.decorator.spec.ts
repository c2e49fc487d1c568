import { Reflector } from '@nestjs/core';
import { OnEvent } from '@nestjs/event-emitter';

import { SseEventError } from '../sse.exceptions.js';
import { SseBridgeMetadataAccessor } from './sse-bridge-metadata.accessor.js';
import { SsePush } from './sse-push.decorator.js';
import type { SsePushTarget } from './sse-push-target.interface.js';

const SHIPPED = Symbol('order.shipped');

class Listener {
  calls = 0;

  @SsePush('a.one', { type: 'notification' })
  one(userId: string): SsePushTarget {
    this.calls++;
    return { userId, data: { n: this.calls } };
  }

  @SsePush('b.one', { type: 'update' })
  @SsePush(SHIPPED, { type: 'notification' })
  @SsePush(['ns', 'b'], { type: 'update' })
  @OnEvent('b.other')
  several(): null {
    return null;
  }

  plain(): number {
    return 1;
  }
}

const accessor = new SseBridgeMetadataAccessor(new Reflector());

describe('@SsePush()', () => {
  it('records { event, type } per decorator, and leaves the method itself as written', () => {
    expect(accessor.getPushMetadata(Listener.prototype.one)).toEqual([{ event: 'a.one', type: 'notification' }]);
    expect(accessor.getPushMetadata(Listener.prototype.several)).toEqual([
      { event: ['ns', 'b'], type: 'update' },
      { event: SHIPPED, type: 'notification' },
      { event: 'b.one', type: 'update' },
    ]);
    expect(accessor.getOnEventNames(Listener.prototype.several)).toEqual(['b.other']);
    expect(accessor.getPushMetadata(Listener.prototype.plain)).toBeUndefined();
    expect(accessor.getOnEventNames(Listener.prototype.plain)).toEqual([]);
    // Not wrapped: the prototype holds the function the class body defined.
    expect(Object.getOwnPropertyDescriptor(Listener.prototype, 'one')?.value).toBe(Listener.prototype.one);
    expect(Listener.prototype.one.name).toBe('one');
    expect(Object.getOwnPropertySymbols(Listener.prototype.one)).toEqual([]);
  });

  it('is a plain method when called directly', () => {
    const listener = new Listener();
    expect(listener.one('u1')).toEqual({ userId: 'u1', data: { n: 1 } });
    expect(listener.calls).toBe(1);
  });

  it.each([[''], ['has space'], ['1digit'], ['x'.repeat(65)], [undefined]])(
    'refuses the SSE type %j when the class is defined',
    (type) => {
      expect(() => SsePush('e', { type: type as string })).toThrow(SseEventError);
    },
  );

  it.each([[''], [[]], [['a', '']], [undefined], [42]])('refuses the event %j when the class is defined', (event) => {
    expect(() => SsePush(event as string, { type: 'update' })).toThrow(/needs the event to subscribe to/);
  });

  it('cannot be applied twice for the same event on one method', () => {
    expect(() => {
      class Twice {
        @SsePush('same', { type: 'a' })
        @SsePush('same', { type: 'b' })
        handle(): null {
          return null;
        }
      }
      return Twice;
    }).toThrow(/@SsePush\(same\) is applied twice to Twice\.handle/);
  });
});
