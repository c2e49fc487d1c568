/**
 * Typed events, checked by the compiler: `tsc -p tsconfig.json --noEmit` (npm test's
 * pretest) compiles this file, and typed-events.spec.ts compiles it again to check
 * that every `@ts-expect-error` line is an error of its own and nothing else is.
 * Nothing here runs.
 */
import { SseClient, type SseEventSourceConstructor } from '@nest-sse/client';
import { useSSE } from '@nest-sse/client/react';
import { type SseEvent, type SseEventMap, SseService } from '@nest-sse/server';
import {
  SseEventMapping,
  type SseEventMappingDecorator,
  SsePush,
  type SsePushDecorator,
  type SsePushTarget,
} from '@nest-sse/server/bridge';
import { type INestApplication, Injectable } from '@nestjs/common';

/** Declared once, as an interface (no index signature), and shared by the server, the bridge and the client. */
interface AppEvents {
  notification: { orderId: string; item: string };
  update: { orderId: string; status: 'shipped' };
}

declare const sse: SseService<AppEvents>;

// Server: SseService<AppEvents>.
sse.sendToUser('u1', { type: 'notification', data: { orderId: 'o1', item: 'book' } });
sse.sendToUsers(['u1', 'u2'], { type: 'update', data: { orderId: 'o1', status: 'shipped' } });
sse.broadcast({ type: 'update', data: { orderId: 'o1', status: 'shipped' } });
// @ts-expect-error unknown event type
sse.sendToUser('u1', { type: 'promotion', data: { orderId: 'o1', item: 'book' } });
// @ts-expect-error a payload of the wrong type (orderId is a string)
sse.sendToUser('u1', { type: 'notification', data: { orderId: 1, item: 'book' } });
// @ts-expect-error update's payload under notification
sse.sendToUser('u1', { type: 'notification', data: { orderId: 'o1', status: 'shipped' } });
// @ts-expect-error a payload missing a field
sse.sendToUsers(['u1'], { type: 'notification', data: { orderId: 'o1' } });
// @ts-expect-error another type's payload
sse.broadcast({ type: 'update', data: { orderId: 'o1', item: 'book' } });
// @ts-expect-error a literal type's wrong value
sse.broadcast({ type: 'update', data: { orderId: 'o1', status: 'lost' } });

/** An event for one type only. */
const placed: SseEvent<AppEvents, 'notification'> = { type: 'notification', data: { orderId: 'o1', item: 'book' } };
sse.sendToUser('u1', placed);
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- only there to carry the @ts-expect-error below
const wrongPlaced: SseEvent<AppEvents, 'notification'> = {
  type: 'notification',
  // @ts-expect-error SseEvent<AppEvents, 'notification'> takes only notification data
  data: { orderId: 'o1', status: 'shipped' },
};
/** An event whose type is only known as a union still has to match it: no mixing one type's name with another's data. */
declare const either: SseEvent<AppEvents>;
sse.broadcast(either);
declare const mixed: { type: 'notification' | 'update'; data: AppEvents['update'] };
// @ts-expect-error notification with update data
sse.broadcast(mixed);

// Untyped use keeps working: any type name, any data.
declare const untyped: SseService;
untyped.sendToUser('u1', { type: 'anything', data: { whatever: [1, 2, 3] } });
untyped.broadcast({ type: 'update', data: null, id: 'own-id' });
const anyMap: SseEventMap = { notification: 1, other: 'x' };
void anyMap;
// What Nest's container hands out is untyped too (the class's type argument is erased there).
declare const app: INestApplication;
app.get(SseService).sendToUser('u1', { type: 'anything', data: 42 });
const typedFromContainer: SseService<AppEvents> = app.get(SseService);
void typedFromContainer;

// Bridge: the decorators bound once to the map.
const AppPush: SsePushDecorator<AppEvents> = SsePush;
const AppEventMapping: SseEventMappingDecorator<AppEvents> = SseEventMapping;

class OrderPlaced {
  constructor(
    readonly orderId: string,
    readonly userId: string,
    readonly item: string,
  ) {}
}

@Injectable()
export class TypedListener {
  @AppPush('order.placed', { type: 'notification' })
  placed(e: OrderPlaced) {
    return { userId: e.userId, data: { orderId: e.orderId, item: e.item } };
  }

  @AppPush('order.shipped', { type: 'update' })
  async shipped(e: OrderPlaced): Promise<SsePushTarget<AppEvents['update']>[]> {
    return [{ userIds: [e.userId], data: { orderId: e.orderId, status: 'shipped' } }];
  }

  @AppPush('order.cancelled', { type: 'update' })
  nothing(): null {
    return null;
  }

  // @ts-expect-error unknown event type
  @AppPush('order.placed', { type: 'promotion' })
  unknownType(e: OrderPlaced) {
    return { userId: e.userId, data: { orderId: e.orderId, item: e.item } };
  }

  // @ts-expect-error the handler's data is not notification data
  @AppPush('order.placed', { type: 'notification' })
  wrongData(e: OrderPlaced) {
    return { userId: e.userId, data: { orderId: Number(e.orderId), item: e.item } };
  }

  // @ts-expect-error update data under a notification
  @AppPush('order.placed', { type: 'notification' })
  otherTypesData(e: OrderPlaced): SsePushTarget<AppEvents['update']> {
    return { broadcast: true, data: { orderId: e.orderId, status: 'shipped' } };
  }

  // @ts-expect-error an async handler's data is checked too
  @AppPush('order.placed', { type: 'notification' })
  async wrongAsync(e: OrderPlaced) {
    return { userId: e.userId, data: { orderId: e.orderId } };
  }

  // The explicit form, without binding: both type arguments.
  @SsePush<AppEvents, 'notification'>('order.placed', { type: 'notification' })
  explicit(e: OrderPlaced) {
    return { userId: e.userId, data: { orderId: e.orderId, item: e.item } };
  }

  // @ts-expect-error the explicit form checks the data as well
  @SsePush<AppEvents, 'notification'>('order.placed', { type: 'notification' })
  explicitWrong(e: OrderPlaced) {
    return { userId: e.userId, data: { orderId: e.orderId, status: 'shipped' } };
  }

  // Untyped use keeps working: any type name, any data, SsePushTarget as before.
  @SsePush('order.placed', { type: 'anything.at:all' })
  untyped(e: OrderPlaced): SsePushTarget {
    return { userId: e.userId, data: e };
  }
}

@AppEventMapping<OrderPlaced>({
  type: 'notification',
  to: (e) => e.userId,
  data: (e) => ({ orderId: e.orderId, item: e.item }),
})
export class MappedPlaced extends OrderPlaced {}

@SseEventMapping<OrderPlaced, AppEvents>({
  type: 'update',
  to: 'all',
  data: (e) => ({ orderId: e.orderId, status: 'shipped' }),
})
export class MappedExplicit extends OrderPlaced {}

// @ts-expect-error unknown event type
@AppEventMapping<OrderPlaced>({ type: 'promotion', to: 'all', data: (e) => ({ orderId: e.orderId, item: e.item }) })
export class MappedUnknownType extends OrderPlaced {}

// @ts-expect-error data of the wrong type
@AppEventMapping<OrderPlaced>({ type: 'update', to: 'all', data: (e) => ({ orderId: e.orderId, status: 'lost' }) })
export class MappedWrongData extends OrderPlaced {}

// @ts-expect-error the explicit form checks the data as well
@SseEventMapping<OrderPlaced, AppEvents>({ type: 'notification', to: 'all', data: (e) => ({ orderId: e.orderId }) })
export class MappedExplicitWrong extends OrderPlaced {}

// Untyped use keeps working.
@SseEventMapping<OrderPlaced>({ type: 'whatever', to: 'all', data: (e) => e })
export class MappedUntyped extends OrderPlaced {}

// Client: the same map.
declare const FakeEventSource: SseEventSourceConstructor;
const client = new SseClient<AppEvents>('/api/events', {
  EventSource: FakeEventSource,
  handlers: {
    notification: (data) => data.orderId.toUpperCase(),
    update: (data) => {
      const status: 'shipped' = data.status;
      return status;
    },
  },
});
client.on('notification', (data) => data.item.toUpperCase());
new SseClient<AppEvents>('/api/events', {
  EventSource: FakeEventSource,
  // @ts-expect-error unknown event type
  handlers: { promotion: () => undefined },
});
new SseClient<AppEvents>('/api/events', {
  EventSource: FakeEventSource,
  // @ts-expect-error a handler expecting another payload
  handlers: { notification: (data: { orderId: number }) => data.orderId },
});
// @ts-expect-error notification data has no status
client.on('notification', (data) => data.status);

export function OrdersFeed(): null {
  useSSE<AppEvents>('/api/events', {
    onNotification: (data) => data.item.toUpperCase(),
    onUpdate: (data) => data.status === 'shipped',
    handlers: { notification: (data) => data.orderId },
  });
  useSSE<AppEvents>('/api/events', {
    // @ts-expect-error notification data has no status
    onNotification: (data) => data.status,
  });
  // @ts-expect-error unknown event type
  useSSE<AppEvents>('/api/events', { handlers: { promotion: () => undefined } });
  // Untyped use keeps working: any type, unknown data.
  useSSE('/api/events', { handlers: { anything: (data: unknown) => data } });
  return null;
}
