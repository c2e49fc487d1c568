import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { JwtService } from '@nestjs/jwt';
import type { ResolvedSseOptions } from './sse-options.resolver.js';
import type { SseUser } from './sse-user.js';
import { SSE_LIMITS, toUserId } from './sse-wire.rules.js';
import { SSE_JWT_SERVICE, SSE_OPTIONS } from './sse.tokens.js';

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
 * Every failure is an `UnauthorizedException` (401) whose message never contains the token.
 *
 * @publicApi
 */
@Injectable()
export class SseTokenVerifier {
  constructor(
    @Inject(SSE_JWT_SERVICE) private readonly jwt: JwtService,
    @Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions,
  ) {}

  /** The claims of a token signed as `jwt` requires (key, pinned algorithms, issuer, audience, `exp`, `nbf`). */
  verify(token: string): SseTokenClaims {
    if (token.length > SSE_LIMITS.tokenLength) throw new UnauthorizedException('Invalid token: too long');
    let claims: unknown;
    try {
      claims = this.jwt.verify(token);
    } catch (err) {
      throw new UnauthorizedException(describeJwtError(err));
    }
    if (claims === null || typeof claims !== 'object') {
      throw new UnauthorizedException('Invalid token: payload is not a JSON object');
    }
    const { exp, iat } = claims as { exp?: unknown; iat?: unknown };
    const { requireExp, maxTokenAgeSec } = this.options.jwt;
    if (requireExp && typeof exp !== 'number') throw new UnauthorizedException('Invalid token: no expiry');
    if (maxTokenAgeSec !== undefined && typeof exp === 'number') {
      const from = typeof iat === 'number' ? iat : Date.now() / 1000;
      if (exp - from > maxTokenAgeSec) throw new UnauthorizedException('Invalid token: lifetime too long');
    }
    return claims as SseTokenClaims;
  }

  /** A 401 `Token revoked` when the app revoked these claims (`jwt.isRevoked`); nothing without the hook. */
  async assertNotRevoked(claims: SseTokenClaims): Promise<void> {
    const hook = this.options.jwt.isRevoked;
    if (hook && (await hook(claims)) === true) throw new UnauthorizedException('Token revoked');
  }

  /** A 401 `Token expired` for a user whose token ended since it was verified (a ticket redeemed late). */
  assertNotExpired(user: SseUser): void {
    if (user.expiresAt !== undefined && user.expiresAt <= Date.now()) throw new UnauthorizedException(TOKEN_EXPIRED);
  }

  /**
   * The user the claims name: the id from `jwt.userIdClaim`, the stream's end
   * from `exp` (plus the clock tolerance), the roles from `jwt.rolesClaim`.
   */
  toUser(claims: SseTokenClaims): SseUser {
    const { userIdClaim, rolesClaim, clockToleranceSec } = this.options.jwt;
    const userId = toUserId(claims[userIdClaim]);
    if (userId === undefined) throw new UnauthorizedException(`Invalid token: no usable '${userIdClaim}' claim`);
    const exp = claims.exp;
    const user: SseUser = { userId, expiresAt: typeof exp === 'number' ? (exp + clockToleranceSec) * 1000 : undefined };
    const roles = claims[rolesClaim];
    // Only a list of strings: on a string, a policy's roles.includes('admin') would match 'badmin'.
    if (Array.isArray(roles) && roles.every((role) => typeof role === 'string')) user.roles = Object.freeze([...roles]);
    return user;
  }
}

const TOKEN_EXPIRED = 'Token expired';

/**
 * One fixed message per kind of jsonwebtoken error: its own messages name what
 * was expected (`jwt issuer invalid. expected: https://idp.internal`), which a
 * client must not learn.
 */
const JWT_ERROR_MESSAGES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^invalid signature/, 'Invalid token: invalid signature'],
  [/^invalid algorithm/, 'Invalid token: invalid algorithm'],
  [/^jwt malformed|^invalid token|^jwt must be/, 'Invalid token: malformed'],
  [/^jwt signature is required/, 'Invalid token: not signed'],
  [/^jwt issuer invalid/, 'Invalid token: wrong issuer'],
  [/^jwt audience invalid/, 'Invalid token: wrong audience'],
  [/^jwt subject invalid/, 'Invalid token: wrong subject'],
  [/^jwt id invalid/, 'Invalid token: wrong token id'],
];

/** jsonwebtoken's error classes, by name, so none of them can surface as a 500. */
function describeJwtError(err: unknown): string {
  const name = (err as Error | undefined)?.name;
  if (name === 'TokenExpiredError') return TOKEN_EXPIRED;
  if (name === 'NotBeforeError') return 'Token not yet valid';
  if (name === 'JsonWebTokenError') return JWT_ERROR_MESSAGES.find(([pattern]) => pattern.test((err as Error).message))?.[1] ?? 'Invalid token';
  return 'Invalid token';
}
