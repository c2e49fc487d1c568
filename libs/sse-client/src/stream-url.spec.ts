import { describe, expect, it } from '@jest/globals';

import { buildStreamUrl, withQueryParams } from './stream-url.js';

describe('buildStreamUrl', () => {
  it('appends token and lastEventId to a relative URL', () => {
    expect(buildStreamUrl('/api/events', { token: 'a.b.c', lastEventId: '42' })).toBe(
      '/api/events?token=a.b.c&lastEventId=42',
    );
  });

  it('keeps the existing query and fragment, and replaces a stale token', () => {
    expect(
      buildStreamUrl('https://x.test/api/events?topic=a&token=old#frag', { token: 'new', lastEventId: 'u-1:7' }),
    ).toBe('https://x.test/api/events?topic=a&token=new&lastEventId=u-1%3A7#frag');
  });

  it('puts a ticket in ?ticket=, with no token', () => {
    expect(buildStreamUrl('/api/events?topic=a', { ticket: 'T_k-1', lastEventId: '7' })).toBe(
      '/api/events?topic=a&ticket=T_k-1&lastEventId=7',
    );
  });

  it('leaves out what is not known', () => {
    expect(buildStreamUrl('/api/events', {})).toBe('/api/events');
    expect(buildStreamUrl('/api/events?x=1', { token: 't' })).toBe('/api/events?x=1&token=t');
    expect(withQueryParams('/e?lastEventId=5', { lastEventId: '' })).toBe('/e?lastEventId=5');
  });

  it('encodes values', () => {
    const url = buildStreamUrl('/e', { token: 'a+b/c=&d' });
    expect(new URL(url, 'http://h').searchParams.get('token')).toBe('a+b/c=&d');
  });

  it('puts each topic in a topic parameter of its own, after the token, replacing the URL own', () => {
    const url = buildStreamUrl('/api/events?topic=old&x=1', {
      token: 't',
      topics: ['orders/123', 'tenants/acme/feed'],
      lastEventId: '9',
    });
    expect(url).toBe('/api/events?x=1&token=t&topic=orders%2F123&topic=tenants%2Facme%2Ffeed&lastEventId=9');
    expect(new URL(url, 'http://h').searchParams.getAll('topic')).toEqual(['orders/123', 'tenants/acme/feed']);
  });

  it('leaves the URL own topics when there are none to set', () => {
    expect(buildStreamUrl('/api/events?topic=a', { token: 't', topics: [] })).toBe('/api/events?topic=a&token=t');
    expect(withQueryParams('/e?topic=a&topic=b', { topic: undefined })).toBe('/e?topic=a&topic=b');
  });
});
