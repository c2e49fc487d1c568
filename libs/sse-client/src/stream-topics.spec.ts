import { describe, expect, it } from '@jest/globals';
import { SSE_LIMITS } from '@nest-sse/protocol';

import { resolveTopics } from './stream-topics.js';

const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `t/${i}`);

describe('resolveTopics', () => {
  it('keeps good names in order and removes duplicates', () => {
    expect(resolveTopics(['orders/123', 'tenants/acme/feed', 'orders/123'])).toEqual([
      'orders/123',
      'tenants/acme/feed',
    ]);
    expect(resolveTopics(undefined)).toEqual([]);
    expect(resolveTopics([])).toEqual([]);
    expect(Object.isFrozen(resolveTopics(['a']))).toBe(true);
  });

  it.each([
    ['an empty name', ['ok', ''], /^Bad topics: SSE topic must be a non-empty string/],
    ['an empty segment', ['a//b'], /^Bad topics: SSE topic "a\/\/b" is not allowed/],
    ['a leading slash', ['/a'], /is not allowed/],
    ['a space', ['a b'], /is not allowed/],
    ['a wildcard', ['orders/*'], /is not allowed/],
    ['a query character', ['a&token=x'], /is not allowed/],
    ['a name too long', ['x'.repeat(SSE_LIMITS.topicLength + 1)], /longer than 200 characters/],
    ['a number', [7], /non-empty string/],
  ])('refuses %s with the server rule', (_, topics, message) => {
    expect(() => resolveTopics(topics as string[])).toThrow(TypeError);
    expect(() => resolveTopics(topics as string[])).toThrow(message);
  });

  it('accepts the longest name the server accepts', () => {
    const longest = 'x'.repeat(SSE_LIMITS.topicLength);
    expect(resolveTopics([longest])).toEqual([longest]);
  });

  it('refuses more topics than a stream may have, counted without duplicates', () => {
    expect(resolveTopics([...many(SSE_LIMITS.topicsPerStream), 't/0'])).toHaveLength(SSE_LIMITS.topicsPerStream);
    expect(() => resolveTopics(many(SSE_LIMITS.topicsPerStream + 1))).toThrow(TypeError);
    expect(() => resolveTopics(many(SSE_LIMITS.topicsPerStream + 1))).toThrow('at most 20 topics per stream, got 21');
  });

  it('refuses what is not an array', () => {
    expect(() => resolveTopics('orders/1' as unknown as string[])).toThrow(/must be an array/);
  });
});
