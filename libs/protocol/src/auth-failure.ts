/** Why a request was refused with a 401, in the body and in a header. */

/**
 * Why a request was refused with a 401 (a stream, its `HEAD`, or a ticket request): the
 * `reason` of the JSON body, and the value of the `SSE_AUTH_REASON_HEADER` header, which a
 * `HEAD` (no body) carries too. A category only: never the credential, nor what the server
 * expected (its issuer, audience or key). `@nest-sse/client` stops retrying after a few
 * consecutive ones (`maxAuthFailures`) and reports the category (`SseClientError.reason`).
 *
 * @publicApi
 */
export const SSE_AUTH_FAILURE_REASONS = {
  missing: 'No credential: no token (nor ticket) in the request.',
  malformed: 'The token is not a well-formed JWT (or is longer than SSE_LIMITS.tokenLength).',
  invalid:
    'The token is not acceptable: its signature, algorithm, issuer, audience, subject, id, user id claim, missing exp or too long a lifetime.',
  expired: 'The token expired.',
  'not-yet-valid': 'The token is not valid yet (its nbf is in the future).',
  revoked: 'The app revoked the token (jwt.isRevoked).',
  ticket: 'The ticket is unknown, expired, already used, or was dropped for a newer one: ask for a new one.',
} as const;
/**
 * Why a request was refused with a 401: a key of `SSE_AUTH_FAILURE_REASONS`.
 *
 * @publicApi
 */
export type SseAuthFailureReason = keyof typeof SSE_AUTH_FAILURE_REASONS;

/**
 * The response header of a 401 that names its `SseAuthFailureReason` (as the body's
 * `reason` does), for a `HEAD`, which has no body; CORS exposes it to the configured origins.
 *
 * @publicApi
 */
export const SSE_AUTH_REASON_HEADER = 'SSE-Auth-Reason';
