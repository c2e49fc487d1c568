/** Who a stream belongs to, as established by `SseAuthGuard`. */
export interface SseUser {
  userId: string;
  /** The verified JWT payload. */
  claims: Record<string, unknown>;
  /** Epoch ms at which the token expires, if it has `exp`. */
  expiresAt?: number;
}

/** Where the guard leaves the user on the request. */
export const SSE_USER_KEY = 'sseUser';
