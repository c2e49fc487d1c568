import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { JwtService } from '@nestjs/jwt';
import type { ResolvedSseOptions } from './sse-options.resolver.js';
import { SSE_USER_KEY, type SseUser } from './sse-user.js';
import { SSE_LIMITS, toUserId } from './sse-wire.rules.js';
import { SSE_JWT_SERVICE, SSE_OPTIONS } from './sse.tokens.js';

interface TokenCarrier {
  query?: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  [SSE_USER_KEY]?: SseUser;
}

/**
 * Authenticates a stream before any byte of it is written: `?token=` (EventSource
 * cannot set headers) or `Authorization: Bearer`. Every failure is a 401 with a
 * JSON body; nothing here logs or echoes the token.
 */
@Injectable()
export class SseAuthGuard implements CanActivate {
  constructor(
    @Inject(SSE_JWT_SERVICE) private readonly jwt: JwtService,
    @Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<TokenCarrier>();
    const token = extractToken(request);
    if (!token) throw new UnauthorizedException('Missing token: pass ?token= or Authorization: Bearer');
    if (token.length > SSE_LIMITS.tokenLength) throw new UnauthorizedException('Invalid token: too long');

    let claims: Record<string, unknown>;
    try {
      claims = this.jwt.verify(token);
    } catch (err) {
      throw new UnauthorizedException(describeJwtError(err));
    }
    if (claims === null || typeof claims !== 'object') {
      throw new UnauthorizedException('Invalid token: payload is not a JSON object');
    }
    const { userIdClaim, clockToleranceSec } = this.options.jwt;
    const userId = toUserId(claims[userIdClaim]);
    if (userId === undefined) throw new UnauthorizedException(`Invalid token: no usable '${userIdClaim}' claim`);
    const exp = claims.exp;
    request[SSE_USER_KEY] = {
      userId,
      expiresAt: typeof exp === 'number' ? (exp + clockToleranceSec) * 1000 : undefined,
    };
    return true;
  }
}

function extractToken(request: TokenCarrier): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.length > 0) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return match ? match[1] : undefined;
  }
  const query = request.query?.token;
  return typeof query === 'string' && query.length > 0 ? query : undefined;
}

/** jsonwebtoken's error classes, by name, so none of them can surface as a 500. */
function describeJwtError(err: unknown): string {
  const name = (err as Error | undefined)?.name;
  if (name === 'TokenExpiredError') return 'Token expired';
  if (name === 'NotBeforeError') return 'Token not yet valid';
  if (name === 'JsonWebTokenError') return `Invalid token: ${(err as Error).message}`;
  return 'Invalid token';
}
