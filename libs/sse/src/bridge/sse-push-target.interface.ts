/**
 * A user id as a push target may name it: a string of 1 to 256 characters, or a
 * finite number (sent as its decimal string), the same ids `SseService` and the
 * guard accept.
 *
 * @publicApi
 */
export type SseUserId = string | number;

/**
 * Push `data` to every open stream of one user.
 *
 * @publicApi
 */
export interface SsePushToUser<T = unknown> {
  userId: SseUserId;
  data: T;
}

/**
 * Push `data` to every open stream of each of these users (duplicates count once).
 *
 * @publicApi
 */
export interface SsePushToUsers<T = unknown> {
  userIds: Iterable<SseUserId>;
  data: T;
}

/**
 * Push `data` to every open stream.
 *
 * @publicApi
 */
export interface SsePushToAll<T = unknown> {
  broadcast: true;
  data: T;
}

/**
 * Push `data` to every open stream subscribed to `topic` (`orders/123`): a name
 * as `SseService.publish` takes it (segments of letters, digits or `._~:@-` joined by `/`).
 *
 * @publicApi
 */
export interface SsePushToTopic<T = unknown> {
  topic: string;
  data: T;
}

/**
 * What a `@SsePush()` handler returns: who receives the push and its `data` (sent
 * as JSON). `data` is the projection: only what the handler puts there leaves the server.
 * `T` is the data's type: `SsePushTarget<AppEvents['notification']>` under a typed decorator.
 *
 * @publicApi
 */
export type SsePushTarget<T = unknown> = SsePushToUser<T> | SsePushToUsers<T> | SsePushToAll<T> | SsePushToTopic<T>;

/**
 * One target, several, or nothing to push (`null` / `undefined`); async handlers resolve to it.
 *
 * @publicApi
 */
export type SsePushResult<T = unknown> = SsePushTarget<T> | readonly SsePushTarget<T>[] | null | undefined | void;
