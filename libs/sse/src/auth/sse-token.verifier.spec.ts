import { describe, expect, it } from '@jest/globals';
import { JwtService } from '@nestjs/jwt';

import { resolveSseOptions } from '../options/sse-options.resolver.js';
import type { SseUnauthorizedError } from '../sse.exceptions.js';
import { createSseJwtService, type SseJwtVerify } from './sse-jwt-service.factory.js';
import { SseTokenVerifier } from './sse-token.verifier.js';

const verifier = (jwt: object = {}) =>
  new SseTokenVerifier({} as SseJwtVerify, resolveSseOptions({ jwt: { secret: 's'.repeat(32), ...jwt } }));

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

describe("SseTokenVerifier.verify with an app's jwt.service that ignores the stream's rules", () => {
  const SECRET = 'the-apps-secret';
  const signer = new JwtService({ secret: SECRET });
  /** What a careless app might hand over: it decodes, never verifies, and ignores the options it is given. */
  const decodeOnly = { verify: (token: string) => signer.decode<object>(token) };
  const through = (jwt: object = {}) => {
    const options = resolveSseOptions({ jwt: { service: decodeOnly, algorithms: ['HS256'], ...jwt } });
    // As the module builds it: the factory's wrapper around the app's service, then the verifier.
    return new SseTokenVerifier(createSseJwtService(options.jwt), options);
  };
  const now = () => Math.floor(Date.now() / 1000);
  const refusal = (run: () => unknown) => {
    try {
      run();
    } catch (err) {
      return {
        status: (err as SseUnauthorizedError).getStatus(),
        message: (err as Error).message,
        reason: (err as SseUnauthorizedError).reason,
      };
    }
    throw new Error('not refused');
  };
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('accepts a valid token (the checks refuse nothing jsonwebtoken accepts)', () => {
    expect(through().verify(signer.sign({ sub: 'ann' }, { expiresIn: '1h' }))).toMatchObject({ sub: 'ann' });
    expect(
      through({ clockToleranceSec: 30 }).verify(signer.sign({ sub: 'ann', exp: now() - 10, nbf: now() + 10 })),
    ).toMatchObject({ sub: 'ann' });
  });

  it('refuses an expired token: 401 expired', () => {
    expect(refusal(() => through().verify(signer.sign({ sub: 'ann', exp: now() - 60 })))).toEqual({
      status: 401,
      message: 'Token expired',
      reason: 'expired',
    });
    expect(
      refusal(() => through({ clockToleranceSec: 30 }).verify(signer.sign({ sub: 'ann', exp: now() - 60 }))),
    ).toMatchObject({ reason: 'expired' });
  });

  it('refuses a token not valid yet: 401 not-yet-valid', () => {
    const early = signer.sign({ sub: 'ann', nbf: now() + 600 }, { expiresIn: '1h' });
    expect(refusal(() => through().verify(early))).toEqual({
      status: 401,
      message: 'Token not yet valid',
      reason: 'not-yet-valid',
    });
  });

  it("refuses an unsigned token (alg none) and an algorithm not pinned, from the header's alg", () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', exp: now() + 600 })}.`;
    expect(refusal(() => through().verify(unsigned))).toEqual({
      status: 401,
      message: 'Invalid token: invalid algorithm',
      reason: 'invalid',
    });
    const hs512 = signer.sign({ sub: 'ann' }, { algorithm: 'HS512', expiresIn: '1h' });
    expect(refusal(() => through().verify(hs512))).toMatchObject({
      reason: 'invalid',
      message: 'Invalid token: invalid algorithm',
    });
    const noAlg = `${b64({ typ: 'JWT' })}.${b64({ sub: 'mallory', exp: now() + 600 })}.`;
    expect(refusal(() => through().verify(noAlg))).toMatchObject({
      reason: 'invalid',
      message: 'Invalid token: invalid algorithm',
    });
  });

  it('refuses exp or nbf that are not numbers (jsonwebtoken would)', () => {
    // Written by hand: jsonwebtoken's sign() refuses such claims.
    const unsigned = (claims: object) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'ann', ...claims })}.sig`;
    expect(refusal(() => through().verify(unsigned({ exp: 'never' })))).toEqual({
      status: 401,
      message: 'Invalid token',
      reason: 'invalid',
    });
    expect(refusal(() => through().verify(unsigned({ exp: now() + 600, nbf: 'now' })))).toMatchObject({
      reason: 'invalid',
    });
    expect(through().verify(unsigned({ exp: now() + 600, nbf: now() }))).toMatchObject({ sub: 'ann' });
  });
});
