import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';

import { DEMO_JWT_ALGORITHM, type DemoUser } from './demo-auth.js';

/** Bearer-token auth for the demo's JSON endpoints (the stream has the library's own guard). */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(private readonly jwt: JwtService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: DemoUser }>();
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new UnauthorizedException('Missing bearer token');
    let claims: { sub?: unknown; roles?: unknown };
    try {
      claims = this.jwt.verify(match[1], { algorithms: [DEMO_JWT_ALGORITHM] });
    } catch {
      throw new UnauthorizedException('Invalid or expired token');
    }
    if (typeof claims.sub !== 'string' || !claims.sub) throw new UnauthorizedException('Token has no sub');
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    request.user = { userId: claims.sub, roles };
    return true;
  }
}
