import { SseEventError } from '../sse.exceptions.js';
import { SseFrame } from './sse-frame.js';

const toFrame = (event: Parameters<typeof SseFrame.fromEvent>[0], id: string) => SseFrame.fromEvent(event, id);

describe('SseFrame.fromEvent', () => {
  it('serialises data to JSON once and keeps type and id', () => {
    expect({ ...toFrame({ type: 'update', data: { a: 'x\ny' } }, 'v1') }).toEqual({
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

const text = (fields: ConstructorParameters<typeof SseFrame>[0]) => new SseFrame(fields).text;

describe('SseFrame.text', () => {
  it('writes fields in order and ends the event with a blank line', () => {
    expect(text({ type: 'update', id: '1-0', data: '{"a":1}' })).toBe('event: update\nid: 1-0\ndata: {"a":1}\n\n');
    expect(text({ retry: 3000, id: '', comment: 'connected' })).toBe('id: \nretry: 3000\n: connected\n\n');
  });

  it('splits multi-line data and comments into one field per line', () => {
    expect(text({ data: 'a\nb\r\nc\rd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(text({ comment: 'x\ny' })).toBe(': x\n: y\n\n');
    // A lone CR ends a line too, with no LF anywhere in the value.
    expect(text({ data: 'c\rd' })).toBe('data: c\ndata: d\n\n');
    expect(text({ comment: 'x\ry' })).toBe(': x\n: y\n\n');
  });
});

describe('SseFrame.chunk', () => {
  it('frames the text as one HTTP/1.1 chunk, sized in bytes', () => {
    const frame = new SseFrame({ type: 'update', data: '"żółw"', id: '1-0' });
    const wire = 'event: update\nid: 1-0\ndata: "żółw"\n\n';
    expect(Buffer.byteLength(wire)).toBe(wire.length + 3);
    expect(frame.chunk.toString('utf8')).toBe(`${Buffer.byteLength(wire).toString(16)}\r\n${wire}\r\n`);
    expect(frame.byteLength).toBe(Buffer.byteLength(wire));
    expect(frame.bytes.toString('utf8')).toBe(wire);
  });

  it('sizes the text of a frame past 4 KiB, whose size line is longer', () => {
    const frame = new SseFrame({ type: 'update', data: `"${'ż'.repeat(5000)}"` });
    const wire = `event: update\ndata: "${'ż'.repeat(5000)}"\n\n`;
    expect(frame.byteLength).toBe(Buffer.byteLength(wire));
    expect(frame.bytes.toString('utf8')).toBe(wire);
  });

  it('is encoded once and shared: every write of the frame hands out the same bytes', () => {
    const frame = new SseFrame({ type: 'update', data: '1', id: '1-0' });
    expect(frame.chunk).toBe(frame.chunk);
    // The text without the chunk framing is a view of the same memory, not a copy.
    expect(frame.bytes.toString('utf8')).toBe(frame.text);
    expect(frame.bytes.buffer).toBe(frame.chunk.buffer);
  });

  it('keeps its encoded form out of its fields: a frame spreads to its message fields only', () => {
    const frame = new SseFrame({ type: 'update', data: '1', id: '1-0' });
    void frame.chunk;
    expect(Object.keys(frame).sort()).toEqual(['comment', 'data', 'id', 'retry', 'type']);
    expect(Object.getOwnPropertySymbols(frame)).toEqual([]);
  });
});

describe('SseFrame.tagged', () => {
  it("writes a topic event's data after its topic, made once and tagged once", () => {
    const frame = new SseFrame({
      type: 'order',
      id: '17-3',
      data: '{"orderId":"1"}',
      publishedAt: 5,
      topic: 'orders/1',
    });
    const tagged = frame.tagged;
    expect(tagged.text).toBe('event: order\nid: 17-3\ndata: orders/1\ndata: {"orderId":"1"}\n\n');
    expect(tagged.publishedAt).toBe(5);
    expect(frame.tagged).toBe(tagged);
    expect(tagged.tagged).toBe(tagged);
    // The untagged form is unchanged.
    expect(frame.text).toBe('event: order\nid: 17-3\ndata: {"orderId":"1"}\n\n');
  });

  it('is the frame itself without a topic', () => {
    const frame = new SseFrame({ type: 'note', id: '1-0', data: '1' });
    expect(frame.topic).toBeUndefined();
    expect(frame.tagged).toBe(frame);
  });
});
