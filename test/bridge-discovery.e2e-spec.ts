import { jest } from '@jest/globals';
import { SseModule, SseService } from '@nest-sse/server';
import {
  SseBridgeModule,
  SseEventMapping,
  SsePush,
  type SsePushResult,
  type SsePushTarget,
} from '@nest-sse/server/bridge';
import {
  Controller,
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  type MessageEvent,
  Module,
  type OnApplicationBootstrap,
  Query,
  Scope,
  Sse,
  type Type,
} from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import type { Observable } from 'rxjs';

import { SseBridgeLoader } from '../libs/sse/src/bridge/sse-bridge.loader.js';
import { listen, type RunningApp, TEST_SECRET } from './support/demo-app.js';
import { sleep, StreamClient, waitForCount } from './support/sse-client.js';
import { connectUser } from './support/streams.js';

// ---- A domain event class that declares its own push ----------------------------

@SseEventMapping<TaskAssigned>({
  type: 'notification',
  to: (e) => e.assignees,
  data: (e) => ({ kind: 'task.assigned', taskId: e.taskId }),
})
class TaskAssigned {
  constructor(
    readonly taskId: string,
    readonly assignees: string[],
    readonly internalNotes = 'never on the wire',
  ) {}
}

/** Published to its order's topic and to the tenant's feed, with no handler. */
@SseEventMapping<OrderCancelled>({
  type: 'update',
  to: { topic: (e) => [`orders/${e.orderId}`, 'tenants/acme/feed'] },
  data: (e) => ({ kind: 'order.cancelled', orderId: e.orderId }),
})
class OrderCancelled {
  constructor(readonly orderId: string) {}
}

// ---- Handlers spread over modules ----------------------------------------------------

const calls: string[] = [];

/** In a module two levels down, not exported anywhere. */
@Injectable()
class DeepListener {
  readonly received: unknown[] = [];

  @SsePush('thing.done', { type: 'notification' })
  onThingDone(e: { userId: string; secret: string }): SsePushTarget {
    calls.push('deep');
    this.received.push(e);
    return { userId: e.userId, data: { kind: 'thing.done' } };
  }

  @SsePush('thing.done', { type: 'update' })
  async alsoAsync(e: { userId: string }): Promise<SsePushResult> {
    calls.push('deep-async');
    await sleep(5);
    return [{ userIds: [e.userId, 'other'], data: { kind: 'thing.async' } }];
  }

  /** Subscribed to an event nobody emits here: never called. */
  @SsePush('thing.unrelated', { type: 'update' })
  unrelated(): SsePushResult {
    calls.push('unrelated');
    return { broadcast: true, data: 'unrelated' };
  }
}

@Module({ providers: [DeepListener] })
class DeepModule {}

@Module({ imports: [DeepModule] })
class MiddleModule {}

/** Controllers are discovered too. */
@Controller()
class BroadcastingController {
  @SsePush('thing.done', { type: 'update' })
  announce(): SsePushTarget {
    calls.push('controller');
    return { broadcast: true, data: { kind: 'thing.broadcast' } };
  }
}

@Module({ controllers: [BroadcastingController] })
class ControllerModule {}

/** The emitting side: knows only EventEmitter2. */
@Injectable()
class Emitter {
  constructor(readonly events: EventEmitter2) {}
}

@Module({ providers: [Emitter], exports: [Emitter] })
class EmitterModule {}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedListener {
  @SsePush('thing.done', { type: 'update' })
  handle(): SsePushResult {
    calls.push('request-scoped');
    return null;
  }
}

@Module({ providers: [RequestScopedListener] })
class RequestScopedModule {}

/** An ordinary event-emitter listener: it runs whether the bridge is there or not. */
@Injectable()
class PlainListener {
  @OnEvent('thing.done')
  onThingDone(): void {
    calls.push('plain');
  }
}

@Module({ providers: [PlainListener] })
class PlainModule {}

/** Would be called twice per event: once by event-emitter's loader, once by the bridge's. */
@Injectable()
class DoublySubscribedListener {
  @OnEvent('thing.other') // a different event alone would be fine
  @SsePush('thing.done', { type: 'update' })
  @OnEvent('thing.done')
  both(): SsePushResult {
    return null;
  }
}

@Module({ providers: [DoublySubscribedListener] })
class DoublySubscribedModule {}

/** Pushes an order's events to whoever watches that order's topic. */
@Injectable()
class OrderTopicListener {
  @SsePush('order.shipped', { type: 'update' })
  shipped(e: { orderId: string }): SsePushTarget {
    return { topic: `orders/${e.orderId}`, data: { kind: 'order.shipped', orderId: e.orderId } };
  }

  /** A name the wire rule refuses: logged, never thrown into emit(). */
  @SsePush('order.lost', { type: 'update' })
  lost(e: { orderId: string }): SsePushTarget {
    return { topic: `orders/${e.orderId}/`, data: { kind: 'order.lost' } };
  }
}

/** The app's own route: streams subscribed to the topics given, without the module's route. */
@Controller()
class WatchController {
  constructor(private readonly sse: SseService) {}

  @Sse('watch')
  watch(@Query('user') user: string, @Query('topic') topic?: string): Observable<MessageEvent> {
    return this.sse.stream(user, { topics: topic ? [topic] : [] });
  }
}

@Module({ providers: [OrderTopicListener], controllers: [WatchController] })
class OrderTopicModule {}

/** Stands for a ConfigModule: forRootAsync reads its options from here. */
@Module({ providers: [{ provide: 'BRIDGE_TIMEOUT_MS', useValue: 100 }], exports: ['BRIDGE_TIMEOUT_MS'] })
class BridgeConfigModule {}

@Injectable()
class StuckListener {
  constructor(@Inject('BRIDGE_TIMEOUT_MS') readonly timeoutMs: number) {}

  @SsePush('thing.stuck', { type: 'update' })
  stuck(): Promise<SsePushResult> {
    return new Promise(() => {});
  }
}

@Module({ imports: [BridgeConfigModule], providers: [StuckListener] })
class StuckModule {}

/** Emits while the app boots, from a module imported before the bridge. */
@Injectable()
class BootEmitter implements OnApplicationBootstrap {
  constructor(private readonly events: EventEmitter2) {}
  onApplicationBootstrap(): void {
    this.events.emit('thing.done', { userId: 'boot', secret: '' });
  }
}

@Module({ providers: [BootEmitter] })
class BootModule {}

async function startApp(imports: Array<DynamicModule | Type>): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 }), ...imports],
  }).compile();
  return listen(moduleRef.createNestApplication({ logger: false }));
}

describe('bridge discovery', () => {
  let server: RunningApp | undefined;
  let clients: StreamClient[] = [];
  let logged: { warn: string[]; error: string[]; log: string[] };

  beforeEach(() => {
    calls.length = 0;
    logged = { warn: [], error: [], log: [] };
    for (const level of ['warn', 'error', 'log'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(function (message: unknown) {
        logged[level].push(String(message));
      });
    }
  });
  afterEach(async () => {
    clients.forEach((c) => c.close());
    clients = [];
    await server?.close();
    server = undefined;
    jest.restoreAllMocks();
  });

  const connect = (userId: string) => connectUser(server!, userId, clients, { types: ['update'] });

  it('has the handlers subscribed before any onApplicationBootstrap hook emits', async () => {
    server = await startApp([EventEmitterModule.forRoot(), BootModule, SseBridgeModule.forRoot(), MiddleModule]);
    expect(server.app.get(DeepListener).received).toEqual([{ userId: 'boot', secret: '' }]);
  });

  it('finds @SsePush() handlers in any module (providers and controllers) and runs each once per event', async () => {
    server = await startApp([
      EventEmitterModule.forRoot(),
      SseBridgeModule.forRoot(),
      MiddleModule,
      ControllerModule,
      EmitterModule,
    ]);
    const u1 = await connect('u1');
    const other = await connect('other');

    server.app.get(Emitter).events.emit('thing.done', { userId: 'u1', secret: 's3cr3t' });
    await u1.until(() => u1.events.length >= 3, 5000, 'three pushes for u1');
    await other.until(() => other.events.length >= 2, 5000, 'two pushes for other');

    expect(calls.sort()).toEqual(['controller', 'deep', 'deep-async']);
    expect(server.app.get(DeepListener).received).toEqual([{ userId: 'u1', secret: 's3cr3t' }]);
    expect(u1.events.map((e) => [e.type, e.data])).toEqual([
      ['notification', { kind: 'thing.done' }],
      ['update', { kind: 'thing.async' }],
      ['update', { kind: 'thing.broadcast' }],
    ]);
    expect(other.events.map((e) => [e.type, e.data])).toEqual([
      ['update', { kind: 'thing.async' }],
      ['update', { kind: 'thing.broadcast' }],
    ]);
    expect(JSON.stringify(u1.events)).not.toContain('s3cr3t');
    expect(logged.log).toContain('4 @SsePush() handler(s) bridged; @SseEventMapping() events are pushed when emitted');
  });

  it('pushes a decorated event class emitted from another module, with no handler, under any event name', async () => {
    server = await startApp([EventEmitterModule.forRoot(), SseBridgeModule.forRoot(), EmitterModule]);
    const a = await connect('a');
    const b = await connect('b');
    const c = await connect('c');
    const { events } = server.app.get(Emitter);

    events.emit('task.assigned', new TaskAssigned('t1', ['a', 'b']));
    events.emit('some.other.name', new TaskAssigned('t2', ['b']));
    events.emit('task.assigned', { taskId: 'plain object', assignees: ['a', 'b', 'c'] });

    await b.until(() => b.events.length >= 2);
    await a.until(() => a.events.length >= 1);
    await sleep(50);
    expect(a.events.map((e) => e.data)).toEqual([{ kind: 'task.assigned', taskId: 't1' }]);
    expect(b.events.map((e) => e.data)).toEqual([
      { kind: 'task.assigned', taskId: 't1' },
      { kind: 'task.assigned', taskId: 't2' },
    ]);
    expect(c.events).toEqual([]);
    expect(a.events[0].rawData).not.toContain('internalNotes');
  });

  it('works with a wildcard emitter too', async () => {
    server = await startApp([EventEmitterModule.forRoot({ wildcard: true }), SseBridgeModule.forRoot(), EmitterModule]);
    const a = await connect('a');
    server.app.get(Emitter).events.emit('task.assigned', new TaskAssigned('t1', ['a']));
    await a.until(() => a.events.length >= 1);
    expect(a.events[0].data).toEqual({ kind: 'task.assigned', taskId: 't1' });
  });

  it('publishes { topic } targets and to: { topic } mappings to the streams subscribed to that topic, and to no other', async () => {
    server = await startApp([EventEmitterModule.forRoot(), SseBridgeModule.forRoot(), OrderTopicModule, EmitterModule]);
    const sse = server.app.get(SseService);
    const watch = async (user: string, topic?: string) => {
      const client = new StreamClient(`${server!.baseUrl}/watch?user=${user}${topic ? `&topic=${topic}` : ''}`, [
        'update',
      ]);
      clients.push(client);
      await client.opened();
      await waitForCount(() => sse.connectionCount(user), 0, 1);
      return client;
    };
    const watcher = await watch('w1', 'orders/1');
    const feed = await watch('w2', 'tenants/acme/feed');
    const otherOrder = await watch('w3', 'orders/2');
    const unsubscribed = await watch('w4');
    expect(sse.topicCount()).toBe(3);
    const { events } = server.app.get(Emitter);

    expect(events.emit('order.lost', { orderId: '1' })).toBe(true);
    events.emit('order.shipped', { orderId: '1' });
    events.emit('order.cancelled', new OrderCancelled('1'));

    await watcher.until(() => watcher.events.length >= 2, 5000, 'both order/1 events');
    await feed.until(() => feed.events.length >= 1, 5000, 'the feed event');
    await sleep(50);
    expect(watcher.events.map((e) => e.data)).toEqual([
      { kind: 'order.shipped', orderId: '1' },
      { kind: 'order.cancelled', orderId: '1' },
    ]);
    expect(feed.events.map((e) => e.data)).toEqual([{ kind: 'order.cancelled', orderId: '1' }]);
    expect(otherOrder.events).toEqual([]);
    expect(unsubscribed.events).toEqual([]);
    expect(logged.error).toEqual([
      expect.stringMatching(
        /^SSE push 'update' for event 'order\.lost' from OrderTopicListener\.lost failed: no audience: topic is not usable \(SSE topic "orders\/1\/" is not allowed/,
      ),
    ]);
  });

  it('never calls @SsePush() handlers in an app without the bridge; plain @OnEvent() listeners still run', async () => {
    server = await startApp([EventEmitterModule.forRoot(), MiddleModule, ControllerModule, PlainModule, EmitterModule]);
    const u1 = await connect('u1');
    server.app.get(Emitter).events.emit('thing.done', { userId: 'u1', secret: '' });
    server.app.get(Emitter).events.emit('task.assigned', new TaskAssigned('t1', ['u1']));
    await sleep(100);
    expect(calls).toEqual(['plain']);
    expect(u1.events).toEqual([]);
  });

  it('writes nothing onto the instances it finds, their prototypes, their methods or the emitter', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 }),
        EventEmitterModule.forRoot(),
        SseBridgeModule.forRoot(),
        MiddleModule,
        ControllerModule,
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const listener = app.get(DeepListener);
    const controller = app.get(BroadcastingController);
    const emitter = app.get(EventEmitter2);
    const shape = (target: object) =>
      Reflect.ownKeys(target).map((key) => [key, Object.getOwnPropertyDescriptor(target, key)?.value]);
    const before = {
      listener: shape(listener),
      controller: shape(controller),
      prototype: shape(DeepListener.prototype),
      method: DeepListener.prototype.onThingDone,
      methodKeys: Reflect.ownKeys(DeepListener.prototype.onThingDone),
      emitterSymbols: Object.getOwnPropertySymbols(emitter),
    };

    server = await listen(app);
    emitter.emit('thing.done', { userId: 'u1', secret: '' });
    await sleep(20);

    expect(calls.sort()).toEqual(['controller', 'deep', 'deep-async']);
    expect(Object.getOwnPropertySymbols(listener)).toEqual([]);
    expect(Object.getOwnPropertySymbols(controller)).toEqual([]);
    expect(shape(listener)).toEqual(before.listener);
    expect(shape(controller)).toEqual(before.controller);
    expect(shape(DeepListener.prototype)).toEqual(before.prototype);
    expect(DeepListener.prototype.onThingDone).toBe(before.method);
    expect(listener.onThingDone).toBe(before.method);
    expect(Reflect.ownKeys(DeepListener.prototype.onThingDone)).toEqual(before.methodKeys);
    expect(Object.getOwnPropertySymbols(emitter)).toEqual(before.emitterSymbols);
  });

  it('removes exactly its own listeners at shutdown', async () => {
    server = await startApp([EventEmitterModule.forRoot(), SseBridgeModule.forRoot(), MiddleModule]);
    const emitter = server.app.get(EventEmitter2);
    const mine = () => undefined;
    const mineForAny = () => undefined;
    emitter.on('thing.done', mine);
    emitter.onAny(mineForAny);
    expect(emitter.listeners('thing.done')).toHaveLength(3);
    expect(emitter.listenersAny()).toHaveLength(2);

    server.app.get(SseBridgeLoader).onApplicationShutdown();
    expect(emitter.listeners('thing.done')).toEqual([mine]);
    expect(emitter.listeners('thing.unrelated')).toEqual([]);
    expect(emitter.listenersAny()).toEqual([mineForAny]);
    emitter.emit('thing.done', { userId: 'u1', secret: '' });
    expect(calls).toEqual([]);
  });

  it('fails bootstrap when a method has both @OnEvent() and @SsePush() for the same event', async () => {
    await expect(
      startApp([EventEmitterModule.forRoot(), SseBridgeModule.forRoot(), DoublySubscribedModule]),
    ).rejects.toThrow(
      "DoublySubscribedListener.both has both @OnEvent('thing.done') and @SsePush('thing.done'): " +
        '@SsePush() subscribes the method itself, so it would be called twice; remove the @OnEvent()',
    );
  });

  it('takes its options from forRootAsync, with imports and inject', async () => {
    server = await startApp([
      EventEmitterModule.forRoot(),
      SseBridgeModule.forRootAsync({
        imports: [BridgeConfigModule],
        inject: ['BRIDGE_TIMEOUT_MS'],
        useFactory: (handlerTimeoutMs: number) => ({ handlerTimeoutMs }),
      }),
      StuckModule,
      EmitterModule,
    ]);
    const a = await connect('a');
    const { events } = server.app.get(Emitter);
    events.emit('thing.stuck');
    events.emit('task.assigned', new TaskAssigned('t1', ['a']));
    await a.until(() => a.events.length >= 1, 5000, 'the push held behind the stuck handler');
    expect(logged.error).toEqual([
      "SSE push 'update' for event 'thing.stuck' from StuckListener.stuck failed: the handler did not settle within 100 ms; its push is dropped and the pushes behind it go on",
    ]);
  });

  it('validates forRootAsync options when the app is created', async () => {
    await expect(
      startApp([
        EventEmitterModule.forRoot(),
        SseBridgeModule.forRootAsync({ useFactory: () => ({ maxPendingPushes: 0 }) }),
      ]),
    ).rejects.toThrow('SseBridgeModule: maxPendingPushes must be an integer >= 1, got 0');
  });

  it('warns that request-scoped handlers are not bridged', async () => {
    server = await startApp([EventEmitterModule.forRoot(), SseBridgeModule.forRoot(), RequestScopedModule]);
    expect(logged.warn).toContain(
      'RequestScopedListener.handle: @SsePush() is not supported on request-scoped providers; it will not push',
    );
  });

  it('refuses to start without EventEmitterModule, saying what is missing', async () => {
    await expect(startApp([SseBridgeModule.forRoot()])).rejects.toThrow(
      /SseBridgeModule needs EventEmitter2: import EventEmitterModule\.forRoot\(\)/,
    );
  });

  it('refuses to start without SseModule, saying what is missing', async () => {
    await expect(
      Test.createTestingModule({ imports: [EventEmitterModule.forRoot(), SseBridgeModule.forRoot()] }).compile(),
    ).rejects.toThrow('SseBridgeModule needs SseService: import SseModule.forRoot() in the app');
  });

  it('validates its options when the module is defined', () => {
    expect(() => SseBridgeModule.forRoot({ handlerTimeoutMs: -1 })).toThrow(/handlerTimeoutMs/);
    expect(() => SseBridgeModule.forRoot({ maxPendingPushes: 0 })).toThrow(/maxPendingPushes/);
  });

  it('pushes once even when SseBridgeModule is imported twice', async () => {
    @Module({ imports: [SseBridgeModule.forRoot()] })
    class FeatureWithItsOwnBridge {}
    server = await startApp([
      EventEmitterModule.forRoot(),
      SseBridgeModule.forRoot(),
      FeatureWithItsOwnBridge,
      EmitterModule,
    ]);
    const a = await connect('a');
    server.app.get(Emitter).events.emit('task.assigned', new TaskAssigned('t1', ['a']));
    await a.until(() => a.events.length >= 1);
    await sleep(50);
    expect(a.events).toHaveLength(1);
    expect(logged.warn).toContain('SseBridgeModule is imported more than once; only the first one pushes');
  });
});
