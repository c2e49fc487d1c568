import { createPublicKey, createSecretKey } from 'node:crypto';

import { Logger } from '@nestjs/common';
import { type JwtModuleOptions, JwtService, type JwtVerifyOptions, WrongSecretProviderError } from '@nestjs/jwt';

import type { ResolvedSseOptions } from '../options/sse-options.resolver.js';

/** What `SseTokenVerifier` verifies a token with: `verify(token)`, all the stream's rules applied. */
export interface SseJwtVerify {
  verify(token: string): object;
}

/**
 * The module's one choice of how tokens are verified (`SSE_JWT_SERVICE`): with `jwt.service`, the
 * app's own `JwtService` under the stream's rules; otherwise a private `JwtService` built from
 * `jwt.secret` or `jwt.publicKey`, so the app's `JwtModule` configuration never leaks into it.
 */
export function createSseJwtService(jwt: ResolvedSseOptions['jwt']): SseJwtVerify {
  return jwt.service ? appJwtService(jwt.service, jwt) : privateJwtService(jwt);
}

function privateJwtService(jwt: ResolvedSseOptions['jwt']): JwtService {
  return new JwtService({
    // Prepared once: given a string, jsonwebtoken re-parses the key on every
    // verify (trying it as a PEM first), which dominated the cost of a connect.
    secret: jwt.secret === undefined ? undefined : createSecretKey(toBuffer(jwt.secret)),
    publicKey: jwt.publicKey === undefined ? undefined : createPublicKey(jwt.publicKey),
    verifyOptions: {
      algorithms: jwt.algorithms,
      issuer: jwt.issuer,
      audience: jwt.audience,
      clockTolerance: jwt.clockToleranceSec,
    },
  });
}

/**
 * The app's service, given the stream's rules on every call: its `verify(token, options)` lays them
 * over its own `verifyOptions` and keeps its key. What the stream relies on is always set (pinned
 * algorithms, the tolerance its expiry timer uses, `exp`/`nbf` checked, the claims rather than the
 * whole token); issuer and audience only when the SSE options name them, so the app's own still apply.
 */
function appJwtService(
  service: NonNullable<ResolvedSseOptions['jwt']['service']>,
  jwt: ResolvedSseOptions['jwt'],
): SseJwtVerify {
  refuseAsyncKeyProvider(service);
  const options: JwtVerifyOptions = {
    algorithms: jwt.algorithms,
    clockTolerance: jwt.clockToleranceSec,
    ignoreExpiration: false,
    ignoreNotBefore: false,
    complete: false,
    ...(jwt.issuer !== undefined && { issuer: jwt.issuer }),
    ...(jwt.audience !== undefined && { audience: jwt.audience }),
    ...preparedKeyOf(service),
  };
  let warned = false;
  return {
    verify: (token: string) => {
      try {
        return service.verify(token, options);
      } catch (err) {
        // A provider that returned a Promise though not declared async (not seen at bootstrap): said once, not per connect.
        if (!warned && isWrongSecretProvider(err)) {
          warned = true;
          new Logger('SseModule').error(ASYNC_PROVIDER);
        }
        throw err;
      }
    },
  };
}

const ASYNC_PROVIDER =
  "jwt.service's secretOrKeyProvider returns a Promise, but the stream verifies tokens synchronously " +
  '(JwtService.verify): every token would be refused with 401. Give the JwtModule a synchronous ' +
  'secretOrKeyProvider (e.g. keys fetched ahead and cached), or its secret / publicKey';

/**
 * Fails at bootstrap on an `async` `secretOrKeyProvider`: `JwtService.verify` throws for every
 * token then (and logs a warning each time). Read from the options @nestjs/jwt keeps on the
 * service; a provider that returns a Promise without being declared `async` is only seen on a
 * verify, and reported once then.
 */
function refuseAsyncKeyProvider(service: object): void {
  const provider = (service as { options?: JwtModuleOptions }).options?.secretOrKeyProvider;
  if (typeof provider === 'function' && provider.constructor?.name === 'AsyncFunction') {
    throw new Error(`SseModule: ${ASYNC_PROVIDER}`);
  }
}

function isWrongSecretProvider(err: unknown): boolean {
  // By name too: the app may hold another copy of @nestjs/jwt than this package's.
  return (
    err instanceof WrongSecretProviderError ||
    (err as object | undefined)?.constructor?.name === 'WrongSecretProviderError'
  );
}

/**
 * The service's own key, prepared once when it holds a plain one, and passed back to it on each call:
 * given a string, jsonwebtoken parses the key on every verify (about 0.7 ms a connect, against 10 µs
 * prepared). It is read from the options @nestjs/jwt keeps on the service, which is not its public API:
 * any other shape leaves the key to the service, as before. A `secretOrKeyProvider` (or the deprecated
 * `secretOrPrivateKey`) still decides inside the service, over a key passed to a call.
 */
function preparedKeyOf(service: object): Pick<JwtVerifyOptions, 'secret' | 'publicKey'> {
  const own = (service as { options?: JwtModuleOptions }).options;
  if (!own || typeof own !== 'object') return {};
  const plain = (key: unknown): key is string | Buffer =>
    (typeof key === 'string' && key !== '') || Buffer.isBuffer(key);
  try {
    if (own.secret !== undefined)
      return plain(own.secret) ? { secret: createSecretKey(toBuffer(own.secret)) as unknown as string } : {};
    if (plain(own.publicKey)) return { publicKey: createPublicKey(own.publicKey) as unknown as string };
  } catch {
    // A key node:crypto cannot read: the service keeps using it as it is (and refuses tokens as it would).
  }
  return {};
}

function toBuffer(secret: string | Buffer): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}
