import { jest } from '@jest/globals';
import { EVENT_LISTENER_METADATA, OnEvent } from '@nestjs/event-emitter';
import { SseEventError } from '../sse-event.js';
import { SSE_PUSH_SINK } from './sse-bridge.constants.js';
import { getSsePushMetadata, SsePush, type SsePushSink, type SsePushTarget } from './sse-push.decorator.js';

class Listener {
  calls = 0;

  @OnEvent('a.above')
  @SsePush({ type: 'notification' })
  pushBelowOnEvent(userId: string): SsePushTarget {
    this.calls++;
    return { userId, data: { n: this.calls } };
  }

  @SsePush({ type: 'update' })
  @OnEvent('b.one')
  @OnEvent('b.two', { async: true })
  pushAboveOnEvent(): null {
    return null;
  }

  plain(): number {
    return 1;
  }
}

describe('@SsePush()', () => {
  it('records its metadata and keeps @OnEvent() visible, whichever decorator comes first', () => {
    const below = Listener.prototype.pushBelowOnEvent;
    const above = Listener.prototype.pushAboveOnEvent;
    expect(getSsePushMetadata(below)).toEqual({ type: 'notification', className: 'Listener', methodName: 'pushBelowOnEvent' });
    expect(getSsePushMetadata(above)).toEqual({ type: 'update', className: 'Listener', methodName: 'pushAboveOnEvent' });
    expect(Reflect.getMetadata(EVENT_LISTENER_METADATA, below)).toEqual([{ event: 'a.above', options: undefined }]);
    expect(Reflect.getMetadata(EVENT_LISTENER_METADATA, above)).toEqual([
      { event: 'b.two', options: { async: true } },
      { event: 'b.one', options: undefined },
    ]);
    expect(getSsePushMetadata(Listener.prototype.plain)).toBeUndefined();
    expect(below.name).toBe('pushBelowOnEvent');
  });

  it('is a plain method on an instance the bridge has not discovered', () => {
    const listener = new Listener();
    expect(listener.pushBelowOnEvent('u1')).toEqual({ userId: 'u1', data: { n: 1 } });
    expect(listener.calls).toBe(1);
  });

  it('hands the call to the sink of a discovered instance, once', () => {
    const listener = new Listener();
    const invoke = jest.fn<SsePushSink['invoke']>((instance, handler, args) => handler.apply(instance, args));
    Object.defineProperty(listener, SSE_PUSH_SINK, { value: { invoke }, configurable: true });
    expect(listener.pushBelowOnEvent('u2')).toEqual({ userId: 'u2', data: { n: 1 } });
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(invoke.mock.calls[0][0]).toBe(listener);
    expect(invoke.mock.calls[0][2]).toEqual(['u2']);
    expect(invoke.mock.calls[0][3]).toMatchObject({ type: 'notification', methodName: 'pushBelowOnEvent' });
    expect(listener.calls).toBe(1);
  });

  it.each([[''], ['has space'], ['1digit'], ['x'.repeat(65)], [undefined]])(
    'refuses the SSE type %j when the class is defined',
    (type) => {
      expect(() => SsePush({ type: type as string })).toThrow(SseEventError);
    },
  );

  it('cannot be applied twice to one method', () => {
    expect(() => {
      class Twice {
        @SsePush({ type: 'a' })
        @SsePush({ type: 'b' })
        handle(): null {
          return null;
        }
      }
      return Twice;
    }).toThrow(/applied twice/);
  });
});
