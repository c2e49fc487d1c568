/**
 * Who a stream belongs to, as `SseAuthGuard` (or a subclass's `resolveUser`)
 * establishes it. A subclass may return more (roles, a tenant): the whole
 * object is left on the request, for `@SseStreamUser()`.
 *
 * @publicApi
 */
export interface SseUser {
  /** The id `SseService` sends to: a string of 1 to 256 characters. */
  userId: string;
  /** Epoch ms at which the stream ends with `auth-expired` (the token's `exp` plus the clock tolerance), if any. */
  expiresAt?: number;
  /** The roles in the token's `jwt.rolesClaim` (default `roles`), for `@SseTopic()` policies; absent when it holds none. */
  roles?: readonly string[];
}

/**
 * The request property where `SseAuthGuard` leaves the stream's `SseUser`
 * (read it with `@SseStreamUser()`).
 *
 * @publicApi
 */
export const SSE_USER_KEY = 'sseUser';

/**
 * Where `SseAuthGuard` leaves the claims of the token it verified (not public): what a ticket issued for the
 * request keeps (`SseTicketService.issue()`, for `jwt.isRevoked` at redemption).
 */
export const SSE_CLAIMS_KEY = Symbol('sseClaims');
