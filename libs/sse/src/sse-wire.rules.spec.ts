import {
  checkTopics,
  eventIdProblem,
  eventTypeProblem,
  isUserId,
  readLastEventId,
  readShared,
  SSE_LIMITS,
  SSE_EVENT_TYPES,
  SSE_SHARED_PARAM,
  tagTopicData,
  toUserId,
  topicProblem,
  untagTopicData,
} from './sse-wire.rules.js';

describe('wire rules', () => {
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

  it('checks a stream\'s list: duplicates count once, past the limit or one bad name is the reason', () => {
    expect(checkTopics(['a', 'b', 'a'])).toEqual(['a', 'b']);
    const limit = Array.from({ length: SSE_LIMITS.topicsPerStream }, (_, i) => `t/${i}`);
    expect(checkTopics([...limit, 't/0'])).toEqual(limit);
    expect(checkTopics([...limit, 't/extra'])).toMatch(/at most 20 topics per stream, got 21/);
    expect(checkTopics(['a', 'b c'])).toMatch(/not allowed/);
    expect(checkTopics([])).toEqual([]);
  });
});

describe('shared streams', () => {
  it('names the stream parameter once', () => {
    expect(SSE_SHARED_PARAM).toBe('shared');
  });

  it('lists the built-in event types, the opening of a shared stream among them', () => {
    expect(Object.values(SSE_EVENT_TYPES)).toEqual(['notification', 'update', 'heartbeat', 'auth-expired', 'reset', 'connected']);
  });

  it('reads the parameter: absent is off, 1 is on, anything else or a repeat is a reason', () => {
    expect(readShared(undefined)).toBe(false);
    expect(readShared('1')).toBe(true);
    for (const bad of ['2', '0', 'true', '', ' 1']) expect(readShared(bad)).toMatch(/shared must be 1/);
    expect(readShared(['1', '1'])).toMatch(/shared must be given at most once/);
    expect(readShared({ a: '1' })).toEqual(expect.any(String));
  });

  it('splits at the first line feed, and leaves data without one untouched', () => {
    expect(untagTopicData('orders/1\n{"orderId":"1"}')).toEqual({ topic: 'orders/1', data: '{"orderId":"1"}' });
    expect(untagTopicData('{"a":1}')).toEqual({ topic: undefined, data: '{"a":1}' });
    expect(untagTopicData('t\n"a\nb"')).toEqual({ topic: 't', data: '"a\nb"' });
    expect(untagTopicData('t\n')).toEqual({ topic: 't', data: '' });
  });

  it('untags what it tags', () => {
    for (const [topic, data] of [['orders/1', '{"x":[1,2]}'], ['a', 'null'], ['x.y~z:w@v-1/_', '"\\u2028"']]) {
      expect(tagTopicData(topic, data)).toBe(`${topic}\n${data}`);
      expect(untagTopicData(tagTopicData(topic, data))).toEqual({ topic, data });
    }
  });

  it('read the resume position as the stream route does: a non-empty header, else one lastEventId parameter', () => {
    expect(readLastEventId({ headers: { 'last-event-id': 'h-1' }, query: { lastEventId: 'q-1' } })).toBe('h-1');
    expect(readLastEventId({ headers: { 'last-event-id': '' }, query: { lastEventId: 'q-1' } })).toBe('q-1');
    expect(readLastEventId({ headers: {}, query: {} })).toBeUndefined();
    expect(readLastEventId({ headers: {} })).toBeUndefined();
    // Repeated, or made an object by qs: an id no server issues (a malformed-id reset), never one of the values.
    for (const query of [{ lastEventId: ['1-0', '2-0'] }, { lastEventId: { a: '1-0' } }]) {
      expect(readLastEventId({ headers: {}, query })).toBe('\u0000');
    }
    // Node's own request: the URL's query.
    expect(readLastEventId({ headers: {}, url: '/events?token=t&lastEventId=5-1' })).toBe('5-1');
    expect(readLastEventId({ headers: {}, url: '/events?lastEventId=5-1&lastEventId=6-1' })).toBe('\u0000');
    expect(readLastEventId({ headers: {}, url: '/events' })).toBeUndefined();
    expect(readLastEventId({ headers: { 'last-event-id': 'h-1' }, url: '/events?lastEventId=5-1' })).toBe('h-1');
  });
});
