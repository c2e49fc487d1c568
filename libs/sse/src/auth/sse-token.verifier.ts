import { SSE_LIMITS, type SseAuthFailureReason, toUserId } from '@nest-sse/protocol';
import { Inject, Injectable } from '@nestjs/common';

import type { SseJwtAlgorithm } from '../options/sse-options.interface.js';
import type { ResolvedSseOptions } from '../options/sse-options.resolver.js';
import { SseUnauthorizedError } from '../sse.exceptions.js';
import { SSE_JWT_SERVICE, SSE_OPTIONS } from '../sse.tokens.js';
import type { SseJwtVerify } from './sse-jwt-service.factory.js';
import type { SseUser } from './sse-user.js';

/**
 * The verified claims of a token: a JSON object.
 *
 * @publicApi
 */
export type SseTokenClaims = Record<string, unknown>;

/**
 * Verifies stream tokens with the module's `jwt` options, and names the user
 * they belong to. `SseAuthGuard` injects it; the module exports it, so a
 * subclass of the guard with dependencies of its own can ask for it too
 * (`constructor(verifier: SseTokenVerifier, other: Other) { super(verifier); }`).
 * Every failure is an `SseUnauthorizedError` (a 401 `UnauthorizedException` with its `reason`
 * category) whose message never contains the token.
 *
 * @publicApi
 */
@Injectable()
export class SseTokenVerifier {
  constructor(
    @Inject(SSE_JWT_SERVICE) private readonly jwt: SseJwtVerify,
    @Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions,
  ) {}

  /**
   * The claims of a token signed as `jwt` requires (key, pinned algorithms, issuer, audience, `exp`, `nbf`).
   * The header's `alg`, `exp` and `nbf` are checked here too, after the service: an app's `jwt.service`
   * that ignored the stream's rules (one that only decodes) still lets no unsigned, expired or early token in.
   */
  verify(token: string): SseTokenClaims {
    if (token.length > SSE_LIMITS.tokenLength) throw new SseUnauthorizedError('Invalid token: too long', 'malformed');
    let claims: unknown;
    try {
      claims = this.jwt.verify(token);
    } catch (err) {
      const [message, reason] = describeJwtError(err);
      throw new SseUnauthorizedError(message, reason);
    }
    if (claims === null || typeof claims !== 'object') {
      throw new SseUnauthorizedError('Invalid token: payload is not a JSON object', 'malformed');
    }
    // Checked here again, whatever verified the token: an app's `jwt.service` might not apply the stream's rules.
    if (!this.options.jwt.algorithms.includes(headerAlgorithm(token) as SseJwtAlgorithm)) {
      throw new SseUnauthorizedError('Invalid token: invalid algorithm', 'invalid');
    }
    const { exp, nbf, iat } = claims as { exp?: unknown; nbf?: unknown; iat?: unknown };
    const { requireExp, maxTokenAgeSec, clockToleranceSec } = this.options.jwt;
    if ((exp !== undefined && typeof exp !== 'number') || (nbf !== undefined && typeof nbf !== 'number')) {
      throw new SseUnauthorizedError('Invalid token', 'invalid');
    }
    if (requireExp && exp === undefined) throw new SseUnauthorizedError('Invalid token: no expiry', 'invalid');
    // jsonwebtoken's own rule (whole seconds), so a token it accepts is never refused here.
    const now = Math.floor(Date.now() / 1000);
    if (exp !== undefined && now >= exp + clockToleranceSec) throw new SseUnauthorizedError(TOKEN_EXPIRED, 'expired');
    if (nbf !== undefined && nbf > now + clockToleranceSec)
      throw new SseUnauthorizedError(NOT_YET_VALID, 'not-yet-valid');
    if (maxTokenAgeSec !== undefined && exp !== undefined) {
      const from = typeof iat === 'number' ? iat : Date.now() / 1000;
      if (exp - from > maxTokenAgeSec) throw new SseUnauthorizedError('Invalid token: lifetime too long', 'invalid');
    }
    return claims as SseTokenClaims;
  }

  /** A 401 `Token revoked` when the app revoked these claims (`jwt.isRevoked`); nothing without the hook. */
  async assertNotRevoked(claims: SseTokenClaims): Promise<void> {
    const hook = this.options.jwt.isRevoked;
    if (hook && (await hook(claims)) === true) throw new SseUnauthorizedError('Token revoked', 'revoked');
  }

  /** A 401 `Token expired` for a user whose token ended since it was verified (a ticket redeemed late). */
  assertNotExpired(user: SseUser): void {
    if (user.expiresAt !== undefined && user.expiresAt <= Date.now())
      throw new SseUnauthorizedError(TOKEN_EXPIRED, 'expired');
  }

  /**
   * The user the claims name: the id from `jwt.userIdClaim`, the stream's end
   * from `exp` (plus the clock tolerance), the roles from `jwt.rolesClaim`.
   */
  toUser(claims: SseTokenClaims): SseUser {
    const { userIdClaim, rolesClaim, clockToleranceSec } = this.options.jwt;
    const userId = toUserId(claims[userIdClaim]);
    if (userId === undefined)
      throw new SseUnauthorizedError(`Invalid token: no usable '${userIdClaim}' claim`, 'invalid');
    const exp = claims.exp;
    const user: SseUser = { userId, expiresAt: typeof exp === 'number' ? (exp + clockToleranceSec) * 1000 : undefined };
    const roles = claims[rolesClaim];
    // Only a list of strings: on a string, a policy's roles.includes('admin') would match 'badmin'.
    if (Array.isArray(roles) && roles.every((role) => typeof role === 'string')) user.roles = Object.freeze([...roles]);
    return user;
  }
}

const TOKEN_EXPIRED = 'Token expired';
const NOT_YET_VALID = 'Token not yet valid';

/** The `alg` of a token's header (base64url JSON before the first dot); `undefined` when it has none that reads. */
function headerAlgorithm(token: string): string | undefined {
  const end = token.indexOf('.');
  if (end <= 0) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-member-access -- JSON.parse returns any; alg is checked to be a string below
    const alg: unknown = JSON.parse(Buffer.from(token.slice(0, end), 'base64url').toString('utf8'))?.alg;
    return typeof alg === 'string' ? alg : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One fixed message per kind of jsonwebtoken error, and its category: its own
 * messages name what was expected (`jwt issuer invalid. expected: https://idp.internal`),
 * which a client must not learn.
 */
const JWT_ERROR_MESSAGES: ReadonlyArray<readonly [RegExp, string, SseAuthFailureReason]> = [
  [/^invalid signature/, 'Invalid token: invalid signature', 'invalid'],
  [/^invalid algorithm/, 'Invalid token: invalid algorithm', 'invalid'],
  [/^jwt malformed|^invalid token|^jwt must be/, 'Invalid token: malformed', 'malformed'],
  [/^jwt signature is required/, 'Invalid token: not signed', 'invalid'],
  [/^jwt issuer invalid/, 'Invalid token: wrong issuer', 'invalid'],
  [/^jwt audience invalid/, 'Invalid token: wrong audience', 'invalid'],
  [/^jwt subject invalid/, 'Invalid token: wrong subject', 'invalid'],
  [/^jwt id invalid/, 'Invalid token: wrong token id', 'invalid'],
];

/** jsonwebtoken's error classes, by name, so none of them can surface as a 500: the message and the category. */
function describeJwtError(err: unknown): readonly [string, SseAuthFailureReason] {
  const name = (err as Error | undefined)?.name;
  if (name === 'TokenExpiredError') return [TOKEN_EXPIRED, 'expired'];
  if (name === 'NotBeforeError') return [NOT_YET_VALID, 'not-yet-valid'];
  if (name === 'JsonWebTokenError') {
    const known = JWT_ERROR_MESSAGES.find(([pattern]) => pattern.test((err as Error).message));
    if (known) return [known[1], known[2]];
  }
  return ['Invalid token', 'invalid'];
}
