import { readShared, SSE_SHARED_PARAM, tagTopicData, untagTopicData } from './shared-stream.js';

describe('shared streams', () => {
  it('names the stream parameter once', () => {
    expect(SSE_SHARED_PARAM).toBe('shared');
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
    for (const [topic, data] of [
      ['orders/1', '{"x":[1,2]}'],
      ['a', 'null'],
      ['x.y~z:w@v-1/_', '"\\u2028"'],
    ]) {
      expect(tagTopicData(topic, data)).toBe(`${topic}\n${data}`);
      expect(untagTopicData(tagTopicData(topic, data))).toEqual({ topic, data });
    }
  });
});
