import type { SseDisconnectReason } from '../observe/sse-stats.collector.js';

/**
 * The names of the lifecycle events `SseBridgeModule` emits on the app's
 * `EventEmitter2`, for `@OnEvent()`:
 *
 * ```ts
 * @OnEvent(SSE_LIFECYCLE_EVENTS.userOffline)
 * markAway({ userId }: SseUserPresenceEvent) { ... }
 * ```
 *
 * @publicApi
 */
export const SSE_LIFECYCLE_EVENTS = {
  /** A stream opened: `SseConnectedEvent`. */
  connected: 'sse.connected',
  /** A stream ended: `SseDisconnectedEvent`, with why. */
  disconnected: 'sse.disconnected',
  /** A user's first stream opened (on this instance; in the cluster with the Redis transport): `SseUserPresenceEvent`. */
  userOnline: 'sse.user.online',
  /** A user's last stream closed (idem): `SseUserPresenceEvent`. */
  userOffline: 'sse.user.offline',
} as const;

/**
 * The payload of `sse.connected`.
 *
 * @publicApi
 */
export interface SseConnectedEvent {
  readonly userId: string;
  /** The topics the stream subscribed to. */
  readonly topics: readonly string[];
}

/**
 * The payload of `sse.disconnected`.
 *
 * @publicApi
 */
export interface SseDisconnectedEvent extends SseConnectedEvent {
  /** `client_left`, `token_expired`, `slow_client`, `disconnect_user` or `shutdown`. */
  readonly reason: SseDisconnectReason;
}

/**
 * The payload of `sse.user.online` and `sse.user.offline`.
 *
 * @publicApi
 */
export interface SseUserPresenceEvent {
  readonly userId: string;
}
