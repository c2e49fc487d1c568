import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DEMO_JWT_ALGORITHM, DEMO_TOKEN_TTL } from '../auth/demo-auth.js';

const USER_ID_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * Development convenience: signs a token for any user. Registered only when
 * NODE_ENV is not `production` (there the route does not exist: 404).
 */
@Controller('api/dev/token')
export class DevTokenController {
  constructor(private readonly jwt: JwtService) {}

  @Post()
  @HttpCode(200)
  issue(@Body() body: unknown): { token: string } {
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
      { algorithm: DEMO_JWT_ALGORITHM, expiresIn: (expiresInSec as number | undefined) ?? DEMO_TOKEN_TTL },
    );
    return { token };
  }
}
