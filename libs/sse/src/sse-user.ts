/** Who a stream belongs to, as established by `SseAuthGuard`. */
export interface SseUser {
  userId: string;
  /** Epoch ms at which the token expires (with the configured clock tolerance), if it has `exp`. */
  expiresAt?: number;
}

/** Where the guard leaves the user on the request. */
export const SSE_USER_KEY = 'sseUser';
