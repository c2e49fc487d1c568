import { resolveSseOptions } from './sse-options.resolver.js';

/** Stands for the app's JwtService: the resolver only checks its shape. */
const jwtService = { verify: () => ({}) };

describe('resolveSseOptions', () => {
  it('applies the documented defaults', () => {
    expect(resolveSseOptions({ jwt: { secret: 's' } })).toMatchObject({
      heartbeatIntervalMs: 30_000,
      heartbeatAs: 'comment',
      maxConnectionsPerUser: 5,
      retryMs: 3000,
      cors: { origins: [], credentials: false },
      closeOnTokenExpiry: true,
      jwt: { algorithms: ['HS256'], userIdClaim: 'sub', clockToleranceSec: 0 },
      history: { enabled: true, maxUsers: 100_000, maxTopics: 100_000 },
    });
    // The module hands the resolved history options to MemoryHistoryStore as they are.
    expect(resolveSseOptions({ jwt: { secret: 's' }, history: { maxTopics: 7 } }).history.maxTopics).toBe(7);
  });

  it.each([
    [{ jwt: {} }, /exactly one of jwt.secret, jwt.publicKey or jwt.service$/],
    [{ jwt: { secret: '' } }, /exactly one of jwt.secret, jwt.publicKey or jwt.service$/],
    // Ambiguous: which key verifies? Exactly one, named (never shown).
    [{ jwt: { secret: 's', publicKey: 'p' } }, /\(got jwt.secret and jwt.publicKey\)/],
    [{ jwt: { secret: 's', service: jwtService, algorithms: ['HS256'] } }, /\(got jwt.secret and jwt.service\)/],
    [{ jwt: { publicKey: 'p', service: jwtService, algorithms: ['RS256'] } }, /\(got jwt.publicKey and jwt.service\)/],
    // The service's key is out of sight, so nothing can be assumed about its algorithms.
    [{ jwt: { service: jwtService } }, /jwt.algorithms is required with jwt.service/],
    [{ jwt: { service: jwtService, algorithms: [] } }, /jwt.algorithms is required with jwt.service/],
    [{ jwt: { service: jwtService, algorithms: ['none'] } }, /none/],
    [{ jwt: { service: { sign: () => '' }, algorithms: ['HS256'] } }, /jwt.service must be the app's JwtService/],
    [{ jwt: { secret: 's', algorithms: ['none'] } }, /none/],
    [{ jwt: { secret: 's' }, maxConnectionsPerUser: 0 }, /maxConnectionsPerUser/],
    [{ jwt: { secret: 's' }, heartbeatIntervalMs: -1 }, /heartbeatIntervalMs/],
    // Node clamps a longer delay to 1 ms: the heartbeat would fire every millisecond.
    [
      { jwt: { secret: 's' }, heartbeatIntervalMs: 2 ** 31 },
      /heartbeatIntervalMs must be an integer between 0 and 2147483647/,
    ],
    [{ jwt: { secret: 's' }, history: { ttlMs: 0 } }, /history.ttlMs/],
    [
      { jwt: { secret: 's' }, history: { maxTopics: 2 ** 24 + 1 } },
      /history.maxTopics must be an integer between 1 and 16777216/,
    ],
    [{ jwt: { secret: 's' }, retryMs: 1.5 }, /retryMs/],
    [{ jwt: { secret: 's' }, heartbeatAs: 'beep' }, /heartbeatAs/],
  ])('fails fast on %j', (options, message) => {
    expect(() => resolveSseOptions(options as never)).toThrow(message);
  });

  it('names the jwt options at fault, never their values', () => {
    const secret = 'a-secret-that-must-not-be-printed';
    for (const jwt of [
      { secret, publicKey: secret },
      { secret, service: jwtService },
    ]) {
      expect(() => resolveSseOptions({ jwt })).toThrow(/^SseModule: /);
      expect(() => resolveSseOptions({ jwt })).not.toThrow(secret);
    }
  });

  it("takes the app's JwtService with pinned algorithms, and keeps the stream's defaults beside it", () => {
    expect(resolveSseOptions({ jwt: { service: jwtService, algorithms: ['HS512'] } }).jwt).toMatchObject({
      service: jwtService,
      algorithms: ['HS512'],
      clockToleranceSec: 0,
      requireExp: true,
      userIdClaim: 'sub',
    });
  });
});
