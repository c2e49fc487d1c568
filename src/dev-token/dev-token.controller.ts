import { BadRequestException, Body, Controller, HttpCode, NotFoundException, Post, Req } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';

import { DEMO_JWT_ALGORITHM, DEMO_TOKEN_TTL } from '../auth/demo-auth.js';

const USER_ID_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

/** The longest token the route signs, whatever is asked: a leaked dev token dies within the hour. */
const MAX_DEV_TOKEN_SEC = 3600;
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
/** Headers a reverse proxy adds: behind one, every request's socket is loopback. */
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const;
/**
 * Host names that only ever mean this machine, with an optional port: `localhost`,
 * `*.localhost` (RFC 6761), 127.x.y.z and `[::1]`. Anything else is a 404, including
 * `0.0.0.0` and the machine's own host name (use `localhost`).
 *
 * `Host` is what the client sends, so this refuses only clients that do not lie
 * about it: a browser page whose DNS was rebound to 127.0.0.1 (the browser sends
 * the page's own name, and a page cannot set `Host`), and an HTTP tunnel or proxy
 * that passes its public name through without a forwarding header. A client at
 * the far end of a raw TCP tunnel (ssh -R, a TCP port forward) arrives from
 * loopback too and can send `Host: localhost`: nothing here stops it. The route
 * is only safe where no one else can reach the port.
 */
const LOOPBACK_HOST = /^(?:localhost|(?:[a-z0-9-]+\.)+localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

interface DevTokenRequest {
  headers?: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
  raw?: { socket?: { remoteAddress?: string } };
}

/**
 * Development convenience: signs a token for any user. Registered only when
 * `config.devTokens` (the generated secret or `DEV_TOKENS=1`, never in
 * production), and it answers only what looks like a client on this machine:
 * anyone else gets the 404 of a route that does not exist. A request a proxy
 * forwarded (it says so in `X-Forwarded-For`, `Forwarded` or `X-Real-IP`) comes
 * from the proxy's loopback socket but not from this machine, so it gets the 404
 * too, and so does one whose `Host` is not a loopback name (a DNS-rebound page,
 * an HTTP tunnel that passes its public name and adds no such header). These are
 * client-sent headers, not proof: a client through a raw TCP tunnel can omit the
 * first and forge the second, so never turn dev tokens on where others reach the port.
 */
@Controller('api/dev/token')
export class DevTokenController {
  constructor(private readonly jwt: JwtService) {}

  @Post()
  @HttpCode(200)
  issue(@Body() body: unknown, @Req() request: DevTokenRequest): { token: string } {
    if (!fromThisMachine(request)) throw new NotFoundException();
    const { userId, roles, expiresInSec } = (body ?? {}) as Record<string, unknown>;
    if (typeof userId !== 'string' || !USER_ID_PATTERN.test(userId)) {
      throw new BadRequestException('userId must be 1-64 characters of letters, digits and ._@-');
    }
    if (roles !== undefined && (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string'))) {
      throw new BadRequestException('roles must be an array of strings');
    }
    if (expiresInSec !== undefined && (!Number.isInteger(expiresInSec) || (expiresInSec as number) < 1)) {
      throw new BadRequestException('expiresInSec must be a positive integer');
    }
    const token = this.jwt.sign(
      { sub: userId, roles: roles ?? [] },
      {
        algorithm: DEMO_JWT_ALGORITHM,
        expiresIn: Math.min((expiresInSec as number | undefined) ?? DEMO_TOKEN_TTL, MAX_DEV_TOKEN_SEC),
      },
    );
    return { token };
  }
}

/** A loopback socket, no proxy's header, and a loopback `Host` (`:authority` over HTTP/2): all but the socket as the client says. */
function fromThisMachine(request: DevTokenRequest): boolean {
  const remote = (request.raw ?? request).socket?.remoteAddress;
  if (remote === undefined || !LOOPBACK.has(remote)) return false;
  const headers = request.headers ?? {};
  if (PROXY_HEADERS.some((name) => headers[name] !== undefined)) return false;
  const host = headers.host ?? headers[':authority'];
  return typeof host === 'string' && LOOPBACK_HOST.test(host);
}
