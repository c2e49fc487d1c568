import { generateKeyPairSync, KeyObject } from 'node:crypto';

import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { type JwtModuleOptions, JwtService, type JwtVerifyOptions } from '@nestjs/jwt';

import { resolveSseOptions } from '../options/sse-options.resolver.js';
import { createSseJwtService } from './sse-jwt-service.factory.js';

/** A real JwtService that records what each verify was given. */
class RecordingJwtService extends JwtService {
  readonly calls: Array<JwtVerifyOptions | undefined> = [];
  constructor(options: JwtModuleOptions) {
    super(options);
  }
  override verify<T extends object = any>(token: string, options?: JwtVerifyOptions): T {
    this.calls.push(options);
    return super.verify<T>(token, options);
  }
}

const SECRET = 'the-apps-own-secret';
const verifierFor = (service: JwtService, algorithms: ['HS256'] | ['RS256'] = ['HS256']) =>
  createSseJwtService(resolveSseOptions({ jwt: { service, algorithms } }).jwt);

describe("createSseJwtService with the app's JwtService", () => {
  it("prepares the service's plain secret once and hands it back on every verify (no string parsed per connect)", () => {
    const app = new RecordingJwtService({ secret: SECRET });
    const verifier = verifierFor(app);
    const token = app.sign({ sub: 'u' }, { expiresIn: '1h' });
    expect(verifier.verify(token)).toMatchObject({ sub: 'u' });
    expect(verifier.verify(token)).toMatchObject({ sub: 'u' });
    const [first, second] = app.calls.map((options) => options?.secret as unknown);
    expect(first).toBeInstanceOf(KeyObject);
    expect((first as KeyObject).type).toBe('secret');
    expect(second).toBe(first);
    // The same key: another secret's token is still refused.
    expect(() => verifier.verify(new JwtService({ secret: 'other' }).sign({ sub: 'u' }, { expiresIn: '1h' }))).toThrow(
      /invalid signature/,
    );
  });

  it("prepares the service's PEM public key once (RS256)", () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = (key: KeyObject, type: 'spki' | 'pkcs8') => key.export({ type, format: 'pem' }) as string;
    const app = new RecordingJwtService({ publicKey: pem(publicKey, 'spki'), privateKey: pem(privateKey, 'pkcs8') });
    const token = app.sign({ sub: 'u' }, { algorithm: 'RS256', expiresIn: '1h' });
    expect(verifierFor(app, ['RS256']).verify(token)).toMatchObject({ sub: 'u' });
    expect((app.calls[0]?.publicKey as unknown as KeyObject).type).toBe('public');
  });

  it('leaves the key to a secretOrKeyProvider, which is asked on every verify (over a stale secret beside it)', () => {
    let asked = 0;
    const app = new RecordingJwtService({
      secret: 'stale-secret',
      secretOrKeyProvider: () => {
        asked++;
        return SECRET;
      },
    });
    const token = new JwtService({ secret: SECRET }).sign({ sub: 'u' }, { expiresIn: '1h' });
    const verifier = verifierFor(app);
    expect(verifier.verify(token)).toMatchObject({ sub: 'u' });
    expect(verifier.verify(token)).toMatchObject({ sub: 'u' });
    expect(asked).toBe(2);
  });

  it('fails at bootstrap, once and clearly, on an async secretOrKeyProvider (every verify would throw)', () => {
    const app = new JwtService({ secretOrKeyProvider: async () => SECRET });
    expect(() => verifierFor(app)).toThrow(
      /SseModule: jwt\.service's secretOrKeyProvider returns a Promise.*synchronous/,
    );
  });

  it('logs once when a provider not declared async returns a Promise: every token is refused', () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const app = new JwtService({ secretOrKeyProvider: () => Promise.resolve(SECRET) });
      const verifier = verifierFor(app);
      const token = new JwtService({ secret: SECRET }).sign({ sub: 'u' }, { expiresIn: '1h' });
      expect(() => verifier.verify(token)).toThrow();
      expect(() => verifier.verify(token)).toThrow();
      const ours = error.mock.calls.filter(([message]) =>
        /secretOrKeyProvider returns a Promise/.test(String(message)),
      );
      expect(ours).toHaveLength(1);
    } finally {
      error.mockRestore();
      warn.mockRestore();
    }
  });
});
