import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { EVENT_LISTENER_METADATA, type OnEventMetadata } from '@nestjs/event-emitter';

import { SSE_EVENT_MAPPING_METADATA, SSE_PUSH_METADATA } from './sse-bridge.constants.js';
import type { SseEventMappingMetadata } from './sse-event-mapping.decorator.js';
import type { SsePushEvent, SsePushMetadata } from './sse-push.decorator.js';

/** Reads what `@SsePush()`, `@SseEventMapping()` and `@OnEvent()` recorded. */
@Injectable()
export class SseBridgeMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The `@SsePush()` subscriptions of a method, or `undefined` when it has none. */
  getPushMetadata(method: unknown): readonly SsePushMetadata[] | undefined {
    if (typeof method !== 'function') return undefined;
    const metadata = this.reflector.get<SsePushMetadata[] | undefined>(SSE_PUSH_METADATA, method);
    return metadata?.length ? metadata : undefined;
  }

  /** The events a method's `@OnEvent()` decorators subscribe it to. */
  getOnEventNames(method: unknown): SsePushEvent[] {
    if (typeof method !== 'function') return [];
    const metadata = this.reflector.get<OnEventMetadata | OnEventMetadata[] | undefined>(
      EVENT_LISTENER_METADATA,
      method,
    );
    if (!metadata) return [];
    return (Array.isArray(metadata) ? metadata : [metadata]).map(({ event }) => event);
  }

  /** The mapping of an emitted payload's class (or of its nearest mapped ancestor), if any. */
  getEventMapping(payload: unknown): SseEventMappingMetadata | undefined {
    if (payload === null || typeof payload !== 'object') return undefined;
    const ctor = (Object.getPrototypeOf(payload) as { constructor?: unknown } | null)?.constructor;
    if (typeof ctor !== 'function' || ctor === Object) return undefined;
    return this.reflector.get<SseEventMappingMetadata | undefined>(SSE_EVENT_MAPPING_METADATA, ctor);
  }
}
