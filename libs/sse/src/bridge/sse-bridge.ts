import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import type { SseService } from '../sse.service.js';
import { SSE_BRIDGE_OPTIONS } from './sse-bridge.constants.js';
import type { ResolvedSseBridgeOptions } from './sse-bridge.options.js';
import { formatEventName, isThenable } from './sse-bridge.utils.js';
import { getSseEventMapping, type SseAudience } from './sse-event-mapping.decorator.js';
import type { SsePushMetadata, SsePushSink } from './sse-push.decorator.js';
import { PushSequencer } from './push-sequencer.js';

/** Where a push came from, for ordering and for the log line of a failure. */
interface PushLabel {
  /** The emitted event's name. */
  readonly event: string;
  /** `Class.method` of a handler, or `@SseEventMapping(Class)`. */
  readonly source: string;
  /** The SSE event type. */
  readonly type: string;
}

type Audience = { kind: 'user'; userId: string } | { kind: 'users'; userIds: string[] } | { kind: 'all' };

/** One push, checked: who receives it and what is sent. */
interface Delivery {
  readonly audience: Audience;
  readonly data: unknown;
}

/** What waits in the sequencer: checked pushes, or the failure of an async handler. */
type PushOutcome = { kind: 'ready'; deliveries: Delivery[] } | { kind: 'failed'; error: unknown };

class MappingError extends Error {}

/**
 * Turns handler results and mapped events into `SseService` calls, in order, and
 * turns every way a mapping can fail into one log line naming the event. Nothing
 * here throws into the emitter, and one failed push never stops another.
 */
@Injectable()
export class SseBridge implements SsePushSink {
  private readonly logger = new Logger('SseBridge');
  private readonly sequencer: PushSequencer<PushLabel, PushOutcome>;
  private emitter?: EventEmitter2;
  private sse?: SseService;

  constructor(@Inject(SSE_BRIDGE_OPTIONS) private readonly options: ResolvedSseBridgeOptions) {
    this.sequencer = new PushSequencer<PushLabel, PushOutcome>({
      timeoutMs: options.handlerTimeoutMs,
      maxPending: options.maxPendingPushes,
      deliver: (label, outcome) => this.deliver(label, outcome),
      onTimeout: (label) =>
        this.fail(
          label,
          `the handler did not settle within ${this.options.handlerTimeoutMs} ms; its push is dropped and the pushes behind it go on`,
        ),
      onLate: (label) => this.fail(label, 'the handler settled after its timeout; its push was dropped'),
      onOverflow: (label) =>
        this.fail(label, `${this.options.maxPendingPushes} pushes are already waiting on slower handlers; this one is dropped`),
      onRejected: (label, error) => this.fail(label, 'the handler rejected', error),
    });
  }

  /** Called once by the explorer at bootstrap. */
  connect(emitter: EventEmitter2, sse: SseService): void {
    this.emitter = emitter;
    this.sse = sse;
  }

  /** Pushes waiting behind an unsettled async handler. */
  get pending(): number {
    return this.sequencer.pending;
  }

  /** `@SsePush()` handlers run through here once their instance is discovered. */
  invoke(instance: object, handler: (...args: unknown[]) => unknown, args: unknown[], push: SsePushMetadata): unknown {
    const label: PushLabel = {
      event: this.currentEventName(),
      source: `${push.className}.${push.methodName}`,
      type: push.type,
    };
    let result: unknown;
    try {
      result = handler.apply(instance, args);
    } catch (error) {
      this.fail(label, 'the handler threw', error);
      return undefined;
    }
    if (!isThenable(result)) {
      this.sequencer.submit(label, { kind: 'ready', deliveries: this.checkTargets(label, result) });
      return result;
    }
    // Never rejects: a rejection is logged here, not by whoever awaits the handler
    // (an unhandled rejection from `emit()` would reach the process).
    let value: unknown;
    const settled = Promise.resolve(result).then(
      (resolved): PushOutcome => {
        value = resolved;
        return { kind: 'ready', deliveries: this.checkTargets(label, resolved) };
      },
      (error: unknown): PushOutcome => ({ kind: 'failed', error }),
    );
    this.sequencer.submit(label, settled);
    return settled.then((outcome) => (outcome.kind === 'ready' ? value : undefined));
  }

  /** Every emitted event passes here; only instances of `@SseEventMapping()` classes are pushed. */
  onEmitted(event: unknown, payload: unknown): void {
    const mapping = getSseEventMapping(payload);
    if (!mapping) return;
    const label: PushLabel = {
      event: formatEventName(event),
      source: `@SseEventMapping(${mapping.className})`,
      type: mapping.type,
    };
    let delivery: Delivery;
    try {
      // Both projections run now, on the event as it was emitted.
      const audience = mapping.to === 'all' ? ALL : mappedAudience(mapping.to(payload as object));
      delivery = { audience, data: mapping.data(payload as object) };
    } catch (error) {
      this.fail(label, error instanceof MappingError ? error.message : 'the mapping threw', error);
      return;
    }
    this.sequencer.submit(label, { kind: 'ready', deliveries: [delivery] });
  }

  /** Drops what waits and stops timers; later pushes are ignored. */
  close(): void {
    this.sequencer.close();
    this.sse = undefined;
  }

  /**
   * Checks what a handler returned, as soon as it is known: each bad target is
   * logged and left out, the good ones wait for their turn.
   */
  private checkTargets(label: PushLabel, value: unknown): Delivery[] {
    if (value === null || value === undefined) return [];
    const deliveries: Delivery[] = [];
    for (const target of Array.isArray(value) ? value : [value]) {
      if (target === null || target === undefined) continue;
      try {
        deliveries.push(targetToDelivery(target));
      } catch (error) {
        this.fail(label, error instanceof MappingError ? error.message : 'the target could not be read', error);
      }
    }
    return deliveries;
  }

  private deliver(label: PushLabel, outcome: PushOutcome): void {
    if (outcome.kind === 'failed') {
      this.fail(label, 'the handler rejected', outcome.error);
      return;
    }
    for (const delivery of outcome.deliveries) this.pushOne(label, delivery);
  }

  /** One push; whatever goes wrong with it is logged and stops nothing else. */
  private pushOne(label: PushLabel, { audience, data }: Delivery): void {
    const sse = this.sse;
    if (!sse) return;
    try {
      if (isThenable(data)) {
        throw new MappingError('data is a Promise: resolve it before returning the target');
      }
      const event = { type: label.type, data };
      if (audience.kind === 'all') sse.broadcast(event);
      else if (audience.kind === 'user') sse.sendToUser(audience.userId, event);
      else if (audience.userIds.length > 0) sse.sendToUsers(audience.userIds, event);
    } catch (error) {
      this.fail(label, error instanceof MappingError ? error.message : 'SseService refused it', error);
    }
  }

  /**
   * EventEmitter2 sets `event` on itself before calling each listener (and
   * restores it for `async` listeners), so while a handler starts this is its event.
   */
  private currentEventName(): string {
    return formatEventName((this.emitter as { event?: unknown } | undefined)?.event);
  }

  private fail(label: PushLabel, reason: string, error?: unknown): void {
    const message = `SSE push '${label.type}' for event '${label.event}' from ${label.source} failed: ${reason}`;
    if (error instanceof MappingError || error === undefined) {
      this.logger.error(message);
    } else {
      this.logger.error(`${message}: ${describe(error)}`, error instanceof Error ? error.stack : undefined);
    }
  }
}

const ALL: Audience = Object.freeze({ kind: 'all' });

function mappedAudience(audience: SseAudience): Audience {
  if (audience === null || audience === undefined) throw new MappingError("no audience: 'to' returned nothing");
  if (typeof audience === 'string' || typeof audience === 'number') {
    const userId = toUserId(audience);
    if (userId === undefined) throw new MappingError("no audience: 'to' returned an empty or non-finite user id");
    return { kind: 'user', userId };
  }
  return { kind: 'users', userIds: snapshot(audience) };
}

/** Checks what a handler returned: one of the `SsePushTarget` shapes, with `data`. */
function targetToDelivery(target: unknown): Delivery {
  if (typeof target !== 'object' || target === null) {
    throw new MappingError(`the handler returned a ${typeof target}, not { userId | userIds | broadcast, data }`);
  }
  const audience = readAudience(target);
  if (!('data' in target)) {
    throw new MappingError('no data: a target must carry `data`, the projection to send');
  }
  return { audience, data: (target as { data: unknown }).data };
}

function readAudience(target: object): Audience {
  if ('broadcast' in target) {
    if ((target as { broadcast: unknown }).broadcast !== true) {
      throw new MappingError('broadcast must be `true`');
    }
    return { kind: 'all' };
  }
  if ('userId' in target) {
    const userId = toUserId((target as { userId: unknown }).userId);
    if (userId === undefined) throw new MappingError('no audience: userId is not a non-empty string or a number');
    return { kind: 'user', userId };
  }
  if ('userIds' in target) {
    return { kind: 'users', userIds: snapshot((target as { userIds: unknown }).userIds) };
  }
  throw new MappingError('no audience: return { userId }, { userIds } or { broadcast: true } with the data');
}

function toUserId(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Copies a list of user ids; any unusable id fails the whole push. */
function snapshot(ids: unknown): string[] {
  if (ids === null || typeof ids !== 'object' || typeof (ids as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new MappingError('no audience: expected a user id or a list of user ids');
  }
  const out: string[] = [];
  for (const id of ids as Iterable<unknown>) {
    const userId = toUserId(id);
    if (userId === undefined) throw new MappingError('no audience: a user id in the list is not a non-empty string or a number');
    out.push(userId);
  }
  return out;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
