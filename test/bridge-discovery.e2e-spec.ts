import { jest } from '@jest/globals';
import { Controller, type DynamicModule, Injectable, Logger, Module, Scope, type Type } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import {
  SseBridgeModule,
  SseEventMapping,
  SseModule,
  SsePush,
  type SsePushResult,
  type SsePushTarget,
} from '../libs/sse/src/index.js';
import { listen, type RunningApp, TEST_SECRET } from './support/demo-app.js';
import { sleep, StreamClient } from './support/sse-client.js';
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

// ---- Handlers spread over modules, in both decorator orders ------------------------

const calls: string[] = [];

/** In a module two levels down, not exported anywhere. */
@Injectable()
class DeepListener {
  @OnEvent('thing.done')
  @SsePush({ type: 'notification' })
  onThingDone(e: { userId: string; secret: string }): SsePushTarget {
    calls.push('deep');
    return { userId: e.userId, data: { kind: 'thing.done' } };
  }

  @SsePush({ type: 'update' })
  @OnEvent('thing.done')
  async alsoAsync(e: { userId: string }): Promise<SsePushResult> {
    calls.push('deep-async');
    await sleep(5);
    return [{ userIds: [e.userId, 'other'], data: { kind: 'thing.async' } }];
  }

  /** Decorated but never subscribed: the explorer warns about it. */
  @SsePush({ type: 'update' })
  orphan(): SsePushResult {
    calls.push('orphan');
    return { broadcast: true, data: 'orphan' };
  }
}

@Module({ providers: [DeepListener] })
class DeepModule {}

@Module({ imports: [DeepModule] })
class MiddleModule {}

/** Controllers are discovered too. */
@Controller()
class BroadcastingController {
  @SsePush({ type: 'update' })
  @OnEvent('thing.done')
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
  @OnEvent('thing.done')
  @SsePush({ type: 'update' })
  handle(): SsePushResult {
    calls.push('request-scoped');
    return null;
  }
}

@Module({ providers: [RequestScopedListener] })
class RequestScopedModule {}

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
    expect(logged.warn).toContain('DeepListener.orphan has @SsePush() but no @OnEvent(): no event will call it');
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

  it('leaves @SsePush() handlers as plain @OnEvent() handlers in an app without the bridge', async () => {
    server = await startApp([EventEmitterModule.forRoot(), MiddleModule, EmitterModule]);
    const u1 = await connect('u1');
    server.app.get(Emitter).events.emit('thing.done', { userId: 'u1', secret: '' });
    server.app.get(Emitter).events.emit('task.assigned', new TaskAssigned('t1', ['u1']));
    await sleep(100);
    expect(calls.sort()).toEqual(['deep', 'deep-async']);
    expect(u1.events).toEqual([]);
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
