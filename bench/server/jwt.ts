import type { KeyObject } from 'node:crypto';

import jwt from 'jsonwebtoken';

/**
 * The user of a stream, as the library establishes it: HS256 pinned, `sub` as
 * the id, checked once per connect. The key is passed as each variant would:
 * `plain` and `nest-bare` a KeyObject made once, as the library does; `naive`
 * the secret string, as a tutorial would, which jsonwebtoken tries to parse as a
 * public key first on every call (~0.4 ms a call, some 30 times the check itself).
 */
export function verifyUser(token: string | undefined, key: string | KeyObject): string | undefined {
  if (!token) return undefined;
  try {
    const claims = jwt.verify(token, key, { algorithms: ['HS256'] });
    return typeof claims === 'object' && typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}
