import type { SseEventId } from '@nest-sse/protocol';

import type { SseFrame, SseFrameFields } from '../wire/sse-frame.js';

/**
 * One published event as history keeps it.
 *
 * @publicApi
 */
export interface SseHistoryRecord {
  readonly id: SseEventId;
  /** The recipients; `undefined` for a broadcast (every user replays it) and for a topic's event. */
  readonly userIds?: readonly string[];
  /** The topic it was published to (`SseService.publish`): only streams subscribed to it replay it. */
  readonly topic?: string;
  /**
   * The frame as published: the same object live streams write, so a kept event
   * holds its encoded bytes once, shared with them, and replays without re-encoding.
   */
  readonly frame: SseFrame;
  /** Epoch ms when it was published. */
  readonly at: number;
}

/**
 * What `SseHistoryStore.replay` answers: the frames after the id, or why they cannot be told.
 *
 * @publicApi
 */
export type SseReplayResult =
  /**
   * The frames `append` was handed or, from a store that serialises them, their
   * fields: with `topic` (the record's) for a topic's event, so that shared
   * streams (`?shared=1`) replay it tagged.
   */
  | { readonly ok: true; readonly frames: readonly SseFrameFields[] }
  | { readonly ok: false; readonly reason: 'unknown-id' | 'too-old' | 'history-lost' };

/**
 * Where published events are kept for Last-Event-ID replay. The default keeps
 * them in this process's memory (`MemoryHistoryStore`); `history.store` replaces
 * it. Either method may return a Promise.
 *
 * @publicApi
 */
export interface SseHistoryStore {
  append(record: SseHistoryRecord): void | Promise<void>;
  /**
   * The user's events, broadcasts and the events of `topics` published after
   * `after`, oldest first (in id order, each once), or why they cannot be told
   * (ids from before this history began, or ones whose successors were already
   * dropped by the count or age bounds, in any of the logs asked for, or, from a
   * store that can tell, ones whose successors it lost: `history-lost`).
   */
  replay(userId: string, after: SseEventId, topics?: readonly string[]): SseReplayResult | Promise<SseReplayResult>;
}
