import { resolveSseOptions } from './sse-options.resolver.js';

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
    [{ jwt: {} }, /secret or jwt.publicKey/],
    [{ jwt: { secret: 's', algorithms: ['none'] } }, /none/],
    [{ jwt: { secret: 's' }, maxConnectionsPerUser: 0 }, /maxConnectionsPerUser/],
    [{ jwt: { secret: 's' }, heartbeatIntervalMs: -1 }, /heartbeatIntervalMs/],
    // Node clamps a longer delay to 1 ms: the heartbeat would fire every millisecond.
    [{ jwt: { secret: 's' }, heartbeatIntervalMs: 2 ** 31 }, /heartbeatIntervalMs must be an integer between 0 and 2147483647/],
    [{ jwt: { secret: 's' }, history: { ttlMs: 0 } }, /history.ttlMs/],
    [{ jwt: { secret: 's' }, history: { maxTopics: 2 ** 24 + 1 } }, /history.maxTopics must be an integer between 1 and 16777216/],
    [{ jwt: { secret: 's' }, retryMs: 1.5 }, /retryMs/],
    [{ jwt: { secret: 's' }, heartbeatAs: 'beep' }, /heartbeatAs/],
  ])('fails fast on %j', (options, message) => {
    expect(() => resolveSseOptions(options as never)).toThrow(message);
  });
});
