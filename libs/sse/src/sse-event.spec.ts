import { SseEventError, toFrame } from './sse-event.js';
import { resolveSseOptions } from './sse-options.interface.js';

describe('toFrame', () => {
  it('serialises data to JSON once and keeps type and id', () => {
    expect(toFrame({ type: 'update', data: { a: 'x\ny' } }, 'v1')).toEqual({
      type: 'update',
      data: '{"a":"x\\ny"}',
      id: 'v1',
    });
    expect(toFrame({ type: 'update', data: undefined }, '1-0').data).toBe('null');
    expect(toFrame({ type: 'update', data: 1, id: 'mine' }, '1-0').id).toBe('mine');
  });

  it.each([null, 'notification', 5])('rejects a non-object event %p', (event) => {
    expect(() => toFrame(event as never, '1-0')).toThrow(SseEventError);
  });

  it('rejects an id that is not a string', () => {
    expect(() => toFrame({ type: 'update', data: 1, id: 5 as never }, '1-0')).toThrow(SseEventError);
  });
});

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
    });
  });

  it.each([
    [{ jwt: {} }, /secret or jwt.publicKey/],
    [{ jwt: { secret: 's', algorithms: ['none'] } }, /none/],
    [{ jwt: { secret: 's' }, maxConnectionsPerUser: 0 }, /maxConnectionsPerUser/],
    [{ jwt: { secret: 's' }, heartbeatIntervalMs: -1 }, /heartbeatIntervalMs/],
    [{ jwt: { secret: 's' }, heartbeatAs: 'beep' }, /heartbeatAs/],
  ])('fails fast on %j', (options, message) => {
    expect(() => resolveSseOptions(options as never)).toThrow(message);
  });
});
