import { describe, expect, it } from '@jest/globals';
import { SSE_LIMITS } from '@nest-sse/protocol';

import { SseTopic } from './sse-topic.decorator.js';
import { SseTopicPattern } from './sse-topic.pattern.js';

describe('SseTopicPattern', () => {
  it('binds each :param to one segment and matches literals exactly', () => {
    const pattern = SseTopicPattern.compile('tenants/:tenant/orders/:orderId');
    expect(pattern.match('tenants/acme/orders/42')).toEqual({ tenant: 'acme', orderId: '42' });
    expect(pattern.match('tenants/acme/orders')).toBeUndefined();
    expect(pattern.match('tenants/acme/orders/42/items')).toBeUndefined();
    expect(pattern.match('tenant/acme/orders/42')).toBeUndefined();
    expect(SseTopicPattern.compile('feed').match('feed')).toEqual({});
  });

  it('gives params without a prototype: a topic segment named __proto__ binds nothing else', () => {
    const params = SseTopicPattern.compile('orders/:id').match('orders/__proto__')!;
    expect(params.id).toBe('__proto__');
    expect(Object.getPrototypeOf(params)).toBeNull();
  });

  it.each([
    ['', /non-empty/],
    ['orders//:id', /segment ""/],
    ['/orders', /segment ""/],
    ['orders/:', /segment ":"/],
    ['orders/:1d', /segment ":1d"/],
    ['orders/*', /segment "\*"/],
    ['orders/:id/:id', /:id appears twice/],
    ['a'.repeat(SSE_LIMITS.topicLength + 1), /longer than/],
    [42, /non-empty string/],
  ])('refuses the pattern %j', (source, message) => {
    expect(() => SseTopicPattern.compile(source)).toThrow(message);
  });

  it('fails @SseTopic() where a bad pattern is written', () => {
    expect(() => SseTopic('orders/:')).toThrow(TypeError);
  });

  it.each([
    ['orders/:id', 'orders/special', true],
    ['orders/:id', 'orders/:other', true],
    ['orders/:id', 'orders/:id/items', false],
    ['orders/:id', 'invoices/:id', false],
    ['a/:x/c', 'a/b/:y', true],
    ['a/b/c', 'a/b/d', false],
  ])('%s overlaps %s: %s', (a, b, expected) => {
    expect(SseTopicPattern.compile(a).overlaps(SseTopicPattern.compile(b))).toBe(expected);
    expect(SseTopicPattern.compile(b).overlaps(SseTopicPattern.compile(a))).toBe(expected);
  });
});
