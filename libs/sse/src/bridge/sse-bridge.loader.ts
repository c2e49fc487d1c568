import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit, Optional } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { EventEmitter2 } from '@nestjs/event-emitter';

import { className, formatEventName, isSameEvent } from './sse-bridge.utils.js';
import { SseBridgeMetadataAccessor } from './sse-bridge-metadata.accessor.js';
import type { SsePushEvent } from './sse-push.decorator.js';
import { SsePushDispatcher, type SsePushLabel } from './sse-push.dispatcher.js';

/** Emitters a loader is subscribed to, so a second `SseBridgeModule` cannot double every push. */
const bridgedEmitters = new WeakSet<EventEmitter2>();

type Listener = (...args: unknown[]) => unknown;

interface PushHandler {
  readonly instance: Record<string | symbol, unknown>;
  readonly methodKey: string;
  readonly event: SsePushEvent;
  readonly label: SsePushLabel;
}

/**
 * Bootstrap half of the bridge, built like `@nestjs/event-emitter`'s own
 * `EventSubscribersLoader`: it walks every provider and controller with
 * `DiscoveryService` and `MetadataScanner`, subscribes each `@SsePush()` method
 * to its event with `emitter.on()`, and adds one `onAny` listener for the
 * `@SseEventMapping()` classes. It writes nothing onto the instances it finds.
 */
@Injectable()
export class SseBridgeLoader implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SseBridge');
  private readonly emitter: EventEmitter2;
  private readonly subscriptions: Array<{ event: SsePushEvent; listener: Listener }> = [];
  private bridged = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: SseBridgeMetadataAccessor,
    @Optional() @Inject(EventEmitter2) emitter: EventEmitter2 | undefined,
    private readonly dispatcher: SsePushDispatcher,
  ) {
    if (!emitter) {
      throw new Error(
        'SseBridgeModule needs EventEmitter2: import EventEmitterModule.forRoot() from @nestjs/event-emitter in the app',
      );
    }
    this.emitter = emitter;
  }

  /**
   * In `onModuleInit`, before any `onApplicationBootstrap`: every instance exists by
   * then, and events emitted from bootstrap hooks (or once event-emitter reports
   * ready) already find the handlers subscribed.
   */
  onModuleInit(): void {
    if (bridgedEmitters.has(this.emitter)) {
      this.logger.warn('SseBridgeModule is imported more than once; only the first one pushes');
      return;
    }
    // Every handler is checked before the first is subscribed: a failed bootstrap leaves no listener behind.
    const handlers = this.findHandlers();
    bridgedEmitters.add(this.emitter);
    this.bridged = true;
    for (const handler of handlers) this.subscribe(handler);
    this.emitter.onAny(this.pushMapped);
    this.logger.log(
      `${handlers.length} @SsePush() handler(s) bridged; @SseEventMapping() events are pushed when emitted`,
    );
  }

  /** Removes exactly the listeners this loader added; other listeners on the emitter stay. */
  onApplicationShutdown(): void {
    for (const { event, listener } of this.subscriptions.splice(0)) this.emitter.off(event, listener);
    if (!this.bridged) return;
    this.emitter.offAny(this.pushMapped);
    bridgedEmitters.delete(this.emitter);
    this.bridged = false;
  }

  private findHandlers(): PushHandler[] {
    const handlers: PushHandler[] = [];
    // One instance can sit behind several tokens (a factory returning an existing one): subscribe it once.
    const seen = new Set<object>();
    const wrappers: InstanceWrapper[] = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias || seen.has(instance)) continue;
      seen.add(instance);
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      for (const methodKey of this.scanner.getAllMethodNames(prototype)) {
        const method = (instance as Record<string, unknown>)[methodKey];
        const pushes = this.metadata.getPushMetadata(method);
        if (!pushes) continue;
        const source = `${className(instance)}.${methodKey}`;
        if (!wrapper.isDependencyTreeStatic()) {
          this.logger.warn(`${source}: @SsePush() is not supported on request-scoped providers; it will not push`);
          continue;
        }
        const onEvents = this.metadata.getOnEventNames(method);
        for (const { event, type } of pushes) {
          const name = formatEventName(event);
          if (onEvents.some((other) => isSameEvent(other, event))) {
            throw new Error(
              `${source} has both @OnEvent('${name}') and @SsePush('${name}'): @SsePush() subscribes the method itself, ` +
                'so it would be called twice; remove the @OnEvent()',
            );
          }
          handlers.push({
            instance: instance as PushHandler['instance'],
            methodKey,
            event,
            label: { event: name, source, type },
          });
        }
      }
    }
    return handlers;
  }

  private subscribe({ instance, methodKey, event, label }: PushHandler): void {
    const { dispatcher } = this;
    const wildcard = typeof label.event === 'string' && label.event.includes('*');
    // Called synchronously, inside emit(): the push takes its place in emit order.
    // EventEmitter2 calls listeners with itself as `this`, its `event` the name emitted
    // (documented for listeners), which a wildcard subscription's log line should name.
    const listener = function (this: { event?: unknown }, ...args: unknown[]): unknown {
      const current = wildcard ? { ...label, event: formatEventName(this?.event ?? event) } : label;
      return dispatcher.runHandler(current, () => (instance[methodKey] as Listener).apply(instance, args));
    };
    this.emitter.on(event, listener);
    this.subscriptions.push({ event, listener });
  }

  private readonly pushMapped = (event: unknown, payload?: unknown): void => {
    const mapping = this.metadata.getEventMapping(payload);
    if (mapping) this.dispatcher.pushMapped(formatEventName(event), mapping, payload as object);
  };
}
