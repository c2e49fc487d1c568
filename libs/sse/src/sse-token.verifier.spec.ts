import { describe, expect, it } from '@jest/globals';
import type { JwtService } from '@nestjs/jwt';
import { resolveSseOptions } from './sse-options.resolver.js';
import { SseTokenVerifier } from './sse-token.verifier.js';

const verifier = (jwt: object = {}) =>
  new SseTokenVerifier({} as JwtService, resolveSseOptions({ jwt: { secret: 's'.repeat(32), ...jwt } }));

describe('SseTokenVerifier.toUser', () => {
  it('copies a list of string roles from jwt.rolesClaim, frozen', () => {
    const user = verifier().toUser({ sub: 'ann', exp: 100, roles: ['admin', 'ops'] });
    expect(user).toEqual({ userId: 'ann', expiresAt: 100_000, roles: ['admin', 'ops'] });
    expect(Object.isFrozen(user.roles)).toBe(true);
    expect(verifier({ rolesClaim: 'grp' }).toUser({ sub: 'ann', grp: ['x'], roles: ['admin'] }).roles).toEqual(['x']);
  });

  it.each([['admin'], [['admin', 1]], [{ 0: 'admin' }], [null]])('gives no roles for a claim of %j', (roles) => {
    // A string's includes() matches substrings ('badmin' includes 'admin'): only a list of strings counts.
    expect(verifier().toUser({ sub: 'ann', roles }).roles).toBeUndefined();
  });
});
