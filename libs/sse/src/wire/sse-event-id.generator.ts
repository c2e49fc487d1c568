import type { SseEventId } from '@nest-sse/protocol';
import { Injectable } from '@nestjs/common';

/** Monotonic even if the wall clock steps back: the last millisecond is kept until time passes it. */
@Injectable()
export class SseEventIdGenerator {
  private last: SseEventId;
  /** The first position of this process: ids below it were issued before it started. */
  readonly epoch: SseEventId;

  constructor() {
    this.epoch = { ms: Date.now(), seq: 0 };
    this.last = this.epoch;
  }

  next(): SseEventId {
    const now = Date.now();
    this.last = now > this.last.ms ? { ms: now, seq: 0 } : { ms: this.last.ms, seq: this.last.seq + 1 };
    return this.last;
  }

  /** The newest id issued (or the epoch): a stream that starts here has missed nothing. */
  current(): SseEventId {
    return this.last;
  }
}
