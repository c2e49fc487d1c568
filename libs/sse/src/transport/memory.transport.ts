import { compareEventIds, formatEventId, type SseEventId } from '@nest-sse/protocol';
import { Logger } from '@nestjs/common';

import type { SseHistoryStore } from '../history/sse-history-store.interface.js';
import { isThenable } from '../utils/is-thenable.js';
import type { SseEventIdGenerator } from '../wire/sse-event-id.generator.js';
import { SseFrame } from '../wire/sse-frame.js';
import type { SseDeliveryTarget, SseOutgoingEvent, SseTransport } from './sse-transport.interface.js';

/**
 * The default transport: one process. Ids come from this process's generator,
 * the event is kept in the history store and handed to the local streams in
 * the same call, so `SseService`'s sends return how many streams they reached.
 *
 * @publicApi
 */
export class MemorySseTransport implements SseTransport {
  private readonly logger = new Logger('SseService');
  private target?: SseDeliveryTarget;

  constructor(
    private readonly ids: SseEventIdGenerator,
    private readonly store: SseHistoryStore | null,
  ) {}

  connect(target: SseDeliveryTarget): void {
    this.target = target;
  }

  publish({ audience, type, data, id: own }: SseOutgoingEvent): number {
    const id = own === undefined ? this.ids.next() : undefined;
    const now = Date.now();
    const topic = audience.kind === 'topic' ? audience.topic : undefined;
    const frame = new SseFrame({ type, id: own ?? formatEventId(id!), data, publishedAt: now, topic });
    if (this.store && id) {
      const userIds = audience.kind === 'users' ? audience.userIds : undefined;
      // Live delivery goes on when history fails: a client resuming over the gap gets a reset.
      try {
        const pending = this.store.append({ id, userIds, topic, frame, at: now });
        if (isThenable(pending)) pending.then(undefined, (err: unknown) => this.logHistoryError(err));
      } catch (err) {
        this.logHistoryError(err);
      }
    }
    return this.target ? this.target.deliver(audience, frame) : 0;
  }

  position(): string {
    return formatEventId(this.ids.current());
  }

  /** Ids outside what this run issued: history cannot say what came after them. */
  knows(id: SseEventId): boolean {
    return compareEventIds(id, this.ids.epoch) >= 0 && compareEventIds(id, this.ids.current()) <= 0;
  }

  private logHistoryError(err: unknown): void {
    this.logger.error(`history append failed: ${(err as Error)?.message ?? err}`);
  }
}
