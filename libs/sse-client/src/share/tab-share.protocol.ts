import type { SseErrorCode } from '../sse-client.errors.js';
import type { SseStatus, SseStatusReason } from '../sse-client.types.js';

/**
 * What the members of one shared stream say to each other over their
 * `BroadcastChannel`. Every message names its sender (`from`, a member id);
 * a BroadcastChannel never delivers a message back to the object that posted it.
 */
export type SseShareMessage =
  /** A member's needs: sent when it joins (`join`), when they change, and as a keep-alive. */
  | {
      kind: 'member';
      from: string;
      join: boolean;
      topics: readonly string[];
      types: readonly string[];
      lastEventId: string | undefined;
    }
  /** A member leaves (its client closed, its page hidden for good). */
  | { kind: 'bye'; from: string; leader: boolean }
  /**
   * An event of the leader's stream, with its topic when it was published to one. `only`:
   * the members it is for (a reset after the stream was rewound for them; the others are ahead).
   */
  | { kind: 'event'; from: string; event: SseRelayedEvent; only?: readonly string[] }
  /**
   * The leader's stream changed status; `topics`: what it carries. A member whose
   * topics it does not carry yet (a reconnect adding them is under way) is not `open`.
   */
  | {
      kind: 'status';
      from: string;
      status: SseStatus;
      reason: SseStatusReason;
      topics: readonly string[];
      /**
       * The stream's position (its last id, or its opening's): a member that joined after
       * the opening learns where the stream stands, should it have to take over before any event.
       */
      position: string | undefined;
      /** With `error`: why the leader gave up, since a member stops listening once it mirrors that. */
      error?: SseSharedError;
    }
  /** The leader's stream reported an error (connection, token, parse). */
  | ({ kind: 'error'; from: string } & SseSharedError)
  /** A new leader asks every member to say what it needs. */
  | { kind: 'roll-call'; from: string }
  /**
   * A member that has not heard from the leader for a while asks whether it still runs
   * (`to`: the leader it knows; none: whoever leads).
   */
  | { kind: 'ping'; from: string; to: string | undefined }
  /** The leader runs (its page is neither frozen nor hung). */
  | { kind: 'pong'; from: string }
  /** The sender does not lead (any more): whoever took it for the leader waits for the real one. */
  | { kind: 'resigned'; from: string }
  /**
   * These members open streams of their own and leave the group: the server refused (403)
   * a topic only they asked for, or their topics do not fit in one stream
   * (`SSE_LIMITS.topicsPerStream`). A refusal there is theirs alone.
   */
  | { kind: 'solo'; from: string; members: readonly string[] };

/** An `SseClientError` as it crosses the channel (structured clone keeps no class). */
export interface SseSharedError {
  code: SseErrorCode;
  message: string;
  httpStatus: number | undefined;
}

/** One event as the leader's EventSource received it, data untagged. */
export interface SseRelayedEvent {
  readonly type: string;
  /** The event's data text (JSON, as sent). */
  readonly data: string;
  /** Its id (Last-Event-ID); `''` when the event had none. */
  readonly id: string;
  /** The topic it was published to; `undefined` for the user's own events and broadcasts. */
  readonly topic: string | undefined;
}

/** What the share needs of `BroadcastChannel`: the browser's, or a fake in tests. */
export interface SseBroadcastChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  close(): void;
}

export type SseBroadcastChannelConstructor = new (name: string) => SseBroadcastChannelLike;

/** What the share needs of the Web Locks API (`navigator.locks`). */
export interface SseLockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal; steal?: boolean },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown>;
}

/** A member id that sorts by creation time: with the lease election, the oldest candidate wins. */
export function newMemberId(now: number = Date.now()): string {
  const random = Math.floor(Math.random() * 36 ** 8)
    .toString(36)
    .padStart(8, '0');
  return `${now.toString(36).padStart(9, '0')}-${random}`;
}
