import { readLastEventId, readSharedParam } from './stream-request.js';

describe('a stream request', () => {
  it('reads the resume position as the stream route does: a non-empty header, else one lastEventId parameter', () => {
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

  it('reads whether it is a shared stream by the same rule, from a parsed query or from the URL', () => {
    expect(readSharedParam({ headers: {}, query: {} })).toBe(false);
    expect(readSharedParam({ headers: {}, query: { shared: '1' } })).toBe(true);
    expect(readSharedParam({ headers: {}, query: { shared: '2' } })).toMatch(/shared must be 1/);
    expect(readSharedParam({ headers: {}, query: { shared: ['1', '1'] } })).toMatch(/at most once/);
    expect(readSharedParam({ headers: {}, url: '/events?token=t&shared=1' })).toBe(true);
    expect(readSharedParam({ headers: {}, url: '/events?shared=1&shared=1' })).toMatch(/at most once/);
    expect(readSharedParam({ headers: {}, url: '/events' })).toBe(false);
  });
});
