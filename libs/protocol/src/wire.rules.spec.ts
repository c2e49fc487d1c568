import {
  checkTopics,
  eventIdProblem,
  eventTypeProblem,
  isUserId,
  SSE_EVENT_TYPES,
  SSE_LIMITS,
  topicProblem,
  toUserId,
} from './wire.rules.js';

describe('wire rules', () => {
  it('lists the built-in event types, the opening of a shared stream among them', () => {
    expect(Object.values(SSE_EVENT_TYPES)).toEqual([
      'notification',
      'update',
      'heartbeat',
      'auth-expired',
      'reset',
      'connected',
    ]);
  });

  it('accept event types up to the limit and refuse anything that could break a field', () => {
    expect(eventTypeProblem('order.status:changed')).toBeUndefined();
    expect(eventTypeProblem('a'.repeat(SSE_LIMITS.eventTypeLength))).toBeUndefined();
    expect(eventTypeProblem('a'.repeat(SSE_LIMITS.eventTypeLength + 1))).toMatch(/longer than 64/);
    for (const bad of ['', 'a b', 'a\nb', 'a\rb', 'a\0b', ':x', '1x', 5, null]) {
      expect(eventTypeProblem(bad)).toEqual(expect.any(String));
    }
  });

  it('accept caller ids of printable ASCII up to the limit', () => {
    expect(eventIdProblem('order-1:v2')).toBeUndefined();
    expect(eventIdProblem('x'.repeat(SSE_LIMITS.eventIdLength))).toBeUndefined();
    expect(eventIdProblem('x'.repeat(SSE_LIMITS.eventIdLength + 1))).toMatch(/longer than 128/);
    for (const bad of ['', 'a b', 'a\nb', 'é', 5]) expect(eventIdProblem(bad)).toEqual(expect.any(String));
  });

  it('have one user-id rule: strings of 1..256 characters, and finite numbers from claims or targets', () => {
    expect(isUserId('u'.repeat(SSE_LIMITS.userIdLength))).toBe(true);
    expect(isUserId('u'.repeat(SSE_LIMITS.userIdLength + 1))).toBe(false);
    expect(isUserId('')).toBe(false);
    expect(isUserId(42)).toBe(false);
    expect(toUserId(42)).toBe('42');
    expect(toUserId('alice')).toBe('alice');
    for (const bad of [NaN, Infinity, '', 'u'.repeat(257), null, undefined, {}, ['a']]) {
      expect(toUserId(bad)).toBeUndefined();
    }
  });
});

describe('topic rules', () => {
  it.each(['orders/123', 'tenants/acme/feed', 'a', 'x.y~z:w@v-1/_'])('accepts %j', (topic) => {
    expect(topicProblem(topic)).toBeUndefined();
  });

  it.each([
    ['', /non-empty/],
    ['a//b', /not allowed/],
    ['/a', /not allowed/],
    ['a/', /not allowed/],
    ['a b', /not allowed/],
    ['a\nb', /not allowed/],
    ['a?b', /not allowed/],
    ['a&topic=b', /not allowed/],
    ['orders/*', /not allowed/],
    ['caf\u00e9', /not allowed/],
    ['t'.repeat(SSE_LIMITS.topicLength + 1), /longer than 200/],
    [['a'], /non-empty string/],
  ])('refuses %j', (topic, message) => {
    expect(topicProblem(topic)).toMatch(message);
  });

  it('accepts a name of exactly the limit', () => {
    expect(topicProblem('t'.repeat(SSE_LIMITS.topicLength))).toBeUndefined();
  });

  it("checks a stream's list: duplicates count once, past the limit or one bad name is the reason", () => {
    expect(checkTopics(['a', 'b', 'a'])).toEqual(['a', 'b']);
    const limit = Array.from({ length: SSE_LIMITS.topicsPerStream }, (_, i) => `t/${i}`);
    expect(checkTopics([...limit, 't/0'])).toEqual(limit);
    expect(checkTopics([...limit, 't/extra'])).toMatch(/at most 20 topics per stream, got 21/);
    expect(checkTopics(['a', 'b c'])).toMatch(/not allowed/);
    expect(checkTopics([])).toEqual([]);
  });
});
