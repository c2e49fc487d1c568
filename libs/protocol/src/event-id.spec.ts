import { compareEventIds, formatEventId, parseEventId } from './event-id.js';

describe('event ids', () => {
  it('read back what they write, as <ms>-<seq>', () => {
    expect(formatEventId({ ms: 1700000000000, seq: 3 })).toBe('1700000000000-3');
    expect(parseEventId('1700000000000-3')).toEqual({ ms: 1700000000000, seq: 3 });
  });

  it('are nothing else: no sign, space, extra part, or digits beyond the format', () => {
    for (const bad of [
      '',
      '1',
      '1-',
      '-1',
      '1-2-3',
      ' 1-2',
      '1-2 ',
      '+1-2',
      '1.5-2',
      'a-1',
      '1234567890123456-1',
      '1-1234567890',
      '\u0000',
    ]) {
      expect([bad, parseEventId(bad)]).toEqual([bad, undefined]);
    }
  });

  it('order by time, then by sequence', () => {
    const ids = ['2-0', '1-10', '1-2', '10-0'].map((id) => parseEventId(id)!);
    expect(ids.sort(compareEventIds).map(formatEventId)).toEqual(['1-2', '1-10', '2-0', '10-0']);
    expect(compareEventIds({ ms: 5, seq: 1 }, { ms: 5, seq: 1 })).toBe(0);
  });
});
