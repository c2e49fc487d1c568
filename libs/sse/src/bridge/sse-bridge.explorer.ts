import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { EVENT_LISTENER_METADATA, EventEmitter2 } from '@nestjs/event-emitter';
import { SseService } from '../sse.service.js';
import { SSE_PUSH_SINK } from './sse-bridge.constants.js';
import { SseBridge } from './sse-bridge.js';
import { getSsePushMetadata } from './sse-push.decorator.js';

/** Marks an emitter that already has a bridge, so a second `SseBridgeModule` cannot double every push. */
const BRIDGED = Symbol('nest-sse:bridged-emitter');

/**
 * Bootstrap half of the bridge. Like `@nestjs/event-emitter`'s own loader, it walks
 * every provider and controller of every module with `DiscoveryService` and
 * `MetadataScanner`; each instance with an `@SsePush()` method gets this app's
 * bridge, and one `onAny` listener hands every emitted payload to the class mappings.
 *
 * It runs in `onModuleInit`, before any `onApplicationBootstrap` (where
 * `@nestjs/event-emitter` subscribes the `@OnEvent()` handlers), although the
 * order does not matter: the handlers were wrapped when their class was defined.
 */
@Injectable()
export class SseBridgeExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SseBridge');
  private readonly instances = new Set<object>();
  private emitter?: EventEmitter2;
  private readonly listener = (event: unknown, payload?: unknown): void => {
    try {
      this.bridge.onEmitted(event, payload);
    } catch {
      // onEmitted logs its own failures; an `onAny` listener that threw would break emit().
    }
  };

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
    private readonly bridge: SseBridge,
  ) {}

  onModuleInit(): void {
    const emitter = this.find(
      EventEmitter2,
      'SseBridgeModule needs EventEmitter2: import EventEmitterModule.forRoot() from @nestjs/event-emitter in the app',
    );
    const sse = this.find(SseService, 'SseBridgeModule needs SseService: import SseModule.forRoot() in the app');
    const bridged = emitter as EventEmitter2 & { [BRIDGED]?: boolean };
    if (bridged[BRIDGED]) {
      this.logger.warn('SseBridgeModule is imported more than once; only the first one pushes');
      return;
    }
    bridged[BRIDGED] = true;
    this.emitter = emitter;
    this.bridge.connect(emitter, sse);
    const handlers = this.attachHandlers();
    emitter.onAny(this.listener);
    this.logger.log(`${handlers} @SsePush() handler(s) bridged; @SseEventMapping() events are pushed when emitted`);
  }

  onApplicationShutdown(): void {
    for (const instance of this.instances) {
      const holder = instance as { [SSE_PUSH_SINK]?: unknown };
      if (holder[SSE_PUSH_SINK] === this.bridge) delete holder[SSE_PUSH_SINK];
    }
    this.instances.clear();
    if (this.emitter) {
      this.emitter.offAny(this.listener);
      delete (this.emitter as EventEmitter2 & { [BRIDGED]?: boolean })[BRIDGED];
      this.emitter = undefined;
    }
    this.bridge.close();
  }

  private attachHandlers(): number {
    let handlers = 0;
    const wrappers: InstanceWrapper[] = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias) continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      for (const methodKey of this.scanner.getAllMethodNames(prototype)) {
        const method = (instance as Record<string, unknown>)[methodKey];
        const push = getSsePushMetadata(method);
        if (!push) continue;
        const name = `${push.className}.${push.methodName}`;
        if (!wrapper.isDependencyTreeStatic()) {
          this.logger.warn(`${name}: @SsePush() is not supported on request-scoped providers; it will not push`);
          continue;
        }
        const listens = Reflect.getMetadata(EVENT_LISTENER_METADATA, method as object) as unknown[] | undefined;
        if (!listens?.length) {
          this.logger.warn(`${name} has @SsePush() but no @OnEvent(): no event will call it`);
        }
        if (this.attach(instance, name)) handlers++;
      }
    }
    return handlers;
  }

  private attach(instance: object, name: string): boolean {
    if (this.instances.has(instance)) return true;
    try {
      Object.defineProperty(instance, SSE_PUSH_SINK, {
        value: this.bridge,
        configurable: true,
        enumerable: false,
        writable: false,
      });
    } catch {
      this.logger.warn(`${name}: its instance cannot be extended (frozen?); it will not push`);
      return false;
    }
    this.instances.add(instance);
    return true;
  }

  private find<T>(token: Type<T>, missing: string): T {
    try {
      return this.moduleRef.get(token, { strict: false });
    } catch {
      throw new Error(missing);
    }
  }
}
