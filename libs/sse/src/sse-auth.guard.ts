import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { SseTokenVerifier, type SseTokenClaims } from './sse-token.verifier.js';
import { SSE_USER_KEY, type SseUser } from './sse-user.js';
import { isUserId } from './sse-wire.rules.js';

/**
 * What the guard reads from a request (Express's and Fastify's both have it),
 * and where it leaves the user.
 *
 * @publicApi
 */
export interface SseAuthRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  [SSE_USER_KEY]?: SseUser;
}

/**
 * Authenticates a stream before any byte of it is written, and leaves its
 * `SseUser` on the request for `@SseStreamUser()`. The module's own route uses
 * it; put it on your own routes too, in any module (`SseModule` exports what it
 * injects):
 *
 * ```ts
 * @Sse('orders/events')
 * @UseGuards(SseAuthGuard)
 * events(@SseStreamUser() user: SseUser) {
 *   return this.sse.stream(user.userId, { expiresAt: user.expiresAt });
 * }
 * ```
 *
 * By default the token is a JWT in `?token=` (EventSource cannot set headers)
 * or `Authorization: Bearer`, verified with the module's `jwt` options. To
 * authenticate streams another way, extend it and override its protected hooks,
 * as with `ThrottlerGuard.getTracker()`: `extractToken` (say, from a cookie),
 * `verifyToken` (say, a session lookup) and `resolveUser` (say, adding roles);
 * each may be async. Every failure is a 401 with a JSON body (or the exception
 * a hook throws); nothing here logs or echoes the token.
 *
 * @publicApi
 */
@Injectable()
export class SseAuthGuard implements CanActivate {
  constructor(protected readonly verifier: SseTokenVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<SseAuthRequest>();
    const token = await this.extractToken(request);
    if (!token) throw new UnauthorizedException('Missing token: pass ?token= or Authorization: Bearer');
    const claims = await this.verifyToken(token, request);
    await this.verifier.assertNotRevoked(claims);
    request[SSE_USER_KEY] = checkedUser(await this.resolveUser(claims, request));
    return true;
  }

  /**
   * The credential the request carries, or `undefined` (a 401). By default the
   * `Authorization: Bearer` token, else `?token=`; an `Authorization` header of
   * another scheme counts as none.
   */
  protected extractToken(request: SseAuthRequest): string | undefined | Promise<string | undefined> {
    if (hasAuthorization(request)) return readBearer(request);
    const query = request.query?.token;
    return typeof query === 'string' && query.length > 0 ? query : undefined;
  }

  /** The claims the credential stands for; throws (a 401 by default) when it is not valid. By default a JWT. */
  protected verifyToken(token: string, request: SseAuthRequest): SseTokenClaims | Promise<SseTokenClaims> {
    return this.verifier.verify(token);
  }

  /**
   * The stream's user, from verified claims: by default the id in `jwt.userIdClaim`
   * and the end of the stream from `exp`. Return more (roles) to read it in the
   * handler; throw to refuse (a `ForbiddenException` is a 403).
   */
  protected resolveUser(claims: SseTokenClaims, request: SseAuthRequest): SseUser | Promise<SseUser> {
    return this.verifier.toUser(claims);
  }
}

/** Whether the request carries an `Authorization` header at all (of any scheme). */
function hasAuthorization(request: SseAuthRequest): boolean {
  const auth = request.headers.authorization;
  return typeof auth === 'string' && auth.length > 0;
}

/** The token of an `Authorization: Bearer` header; `undefined` without one, or for another scheme. */
export function readBearer(request: SseAuthRequest): string | undefined {
  const auth = request.headers.authorization;
  const match = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return match ? match[1] : undefined;
}

/** What a hook returned, checked: `SseService` could not send to a bad id, nor end a stream at a bad time. */
function checkedUser(user: SseUser): SseUser {
  if (!isUserId(user?.userId)) throw new UnauthorizedException('Invalid credentials: no usable user id');
  if (user.expiresAt !== undefined && !Number.isFinite(user.expiresAt)) {
    throw new TypeError('SseAuthGuard: resolveUser returned an expiresAt that is not a finite number');
  }
  return user;
}
