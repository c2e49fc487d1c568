import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

/**
 * The user of a stream, as the library establishes it: HS256 pinned, `sub` as
 * the id, checked once per connect. Given the secret as a string (as the library's
 * JwtService passes it), jsonwebtoken first tries to parse it as a public key,
 * which costs ~0.5 ms a call; the plain server, being the limit, passes a
 * KeyObject made once instead, and the naive one the string, as a tutorial would.
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
