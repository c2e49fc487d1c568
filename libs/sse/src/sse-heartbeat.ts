import { Inject, Injectable } from '@nestjs/common';
import { EMPTY, interval, Observable, share } from 'rxjs';
import type { ResolvedSseOptions } from './sse-options.interface.js';
import { SSE_OPTIONS } from './sse.tokens.js';

/**
 * One interval for the whole module, shared by every stream: it starts with the
 * first subscriber and stops when the last stream ends, so no timer outlives the
 * connections (or the app) that needed it.
 */
@Injectable()
export class SseHeartbeat {
  readonly ticks$: Observable<number>;

  constructor(@Inject(SSE_OPTIONS) options: ResolvedSseOptions) {
    this.ticks$ =
      options.heartbeatIntervalMs > 0 ? interval(options.heartbeatIntervalMs).pipe(share()) : EMPTY;
  }
}
