import { chunkOf, serialiseFrame, wireOf } from './sse-wire.js';

describe('serialiseFrame', () => {
  it('writes fields in order and ends the event with a blank line', () => {
    expect(serialiseFrame({ type: 'update', id: '1-0', data: '{"a":1}' })).toBe('event: update\nid: 1-0\ndata: {"a":1}\n\n');
    expect(serialiseFrame({ retry: 3000, id: '', comment: 'connected' })).toBe('id: \nretry: 3000\n: connected\n\n');
  });

  it('splits multi-line data and comments into one field per line', () => {
    expect(serialiseFrame({ data: 'a\nb\r\nc\rd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(serialiseFrame({ comment: 'x\ny' })).toBe(': x\n: y\n\n');
  });
});

describe('wireOf', () => {
  it('serialises a frame once and reuses the text', () => {
    const frame = { type: 'update', data: '1', id: '1-0' };
    const first = wireOf(frame);
    frame.data = '2'; // frames are never changed after publishing; this proves the cache is used
    expect(wireOf(frame)).toBe(first);
    expect(Object.keys(frame)).toEqual(['type', 'data', 'id']);
  });

  it('still serialises frozen frames', () => {
    expect(wireOf(Object.freeze({ comment: 'hb' }))).toBe(': hb\n\n');
  });
});

describe('chunkOf', () => {
  it('frames the text as one HTTP/1.1 chunk, sized in bytes', () => {
    const frame = { type: 'update', data: '"żółw"', id: '1-0' };
    const wire = 'event: update\nid: 1-0\ndata: "żółw"\n\n';
    expect(Buffer.byteLength(wire)).toBe(wire.length + 3);
    expect(chunkOf(frame).toString('utf8')).toBe(`${Buffer.byteLength(wire).toString(16)}\r\n${wire}\r\n`);
    expect(chunkOf(frame)).toBe(chunkOf(frame));
  });
});
