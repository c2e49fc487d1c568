import jwt from 'jsonwebtoken';
import { userId } from '../shared/payload.js';

/**
 * One token per stream, each for a distinct user `u<i>`, signed as the demo app
 * signs them (HS256, one hour): servers that check `exp` pay for it here too.
 */
export function signTokens(count: number, secret: string): string[] {
  return Array.from({ length: count }, (_, i) =>
    jwt.sign({ sub: userId(i) }, secret, { algorithm: 'HS256', expiresIn: '1h' }),
  );
}
