import net from 'node:net';

import { SseEventError, SseService } from '@nest-sse/server';

import { type RunningApp, signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { rawGet, sleep, StreamClient, waitForCount } from './support/sse-client.js';
import { connectUser } from './support/streams.js';

describe.each(ADAPTERS)('delivery through SseService on %s', (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  const clients: StreamClient[] = [];
  beforeAll(async () => {
    server = await startLibrary({ heartbeatIntervalMs: 0 }, {}, { adapter });
    sse = server.app.get(SseService);
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitForCount(() => sse.connectionCount(), 0);
  });
  afterAll(() => server.close());

  const connect = (userId: string, types: string[] = []) => connectUser(server, userId, clients, { types });

  it('delivers an event for A to A only', async () => {
    const a = await connect('A');
    const b = await connect('B');
    expect(sse.sendToUser('A', { type: 'notification', data: { secret: 'for A' } })).toBe(1);
    // A marker for B proves B's stream is live: anything for A would have arrived before it.
    sse.sendToUser('B', { type: 'notification', data: { marker: true } });
    await a.until(() => a.events.length === 1);
    await b.until(() => b.events.length === 1);
    expect(a.events[0]).toMatchObject({ type: 'notification', data: { secret: 'for A' } });
    expect(b.events).toEqual([expect.objectContaining({ data: { marker: true } })]);
  });

  it('delivers to every stream of the user, and to the users given', async () => {
    const a1 = await connect('A');
    const a2 = await connect('A');
    const b = await connect('B');
    const c = await connect('C');
    expect(sse.sendToUsers(['A', 'B', 'A'], { type: 'update', data: 1 })).toBe(3);
    sse.sendToUser('C', { type: 'update', data: 'marker' });
    for (const client of [a1, a2, b, c]) await client.until(() => client.events.length === 1);
    expect([a1, a2, b].map((x) => x.events[0].data)).toEqual([1, 1, 1]);
    expect(c.events[0].data).toBe('marker');
  });

  it('broadcasts to everyone', async () => {
    const users = ['A', 'B', 'C', 'D'];
    const streams = await Promise.all(users.map((u) => connect(u)));
    expect(sse.broadcast({ type: 'update', data: { message: 'hello all' } })).toBe(4);
    for (const s of streams) await s.until(() => s.events.length === 1);
    expect(streams.every((s) => (s.events[0].data as { message: string }).message === 'hello all')).toBe(true);
  });

  it('streams to an HTTP/1.0 client too (no chunked encoding: written through the response)', async () => {
    const { port } = new URL(server.baseUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.write(`GET /api/events?token=${signToken('old-client')} HTTP/1.0\r\n\r\n`);
    try {
      await waitForCount(() => sse.connectionCount('old-client'), 1);
      sse.sendToUser('old-client', { type: 'update', data: { n: 1 } });
      const deadline = Date.now() + 3000;
      while (!text.includes('data: {"n":1}') && Date.now() < deadline) await sleep(10);
      expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text).not.toMatch(/transfer-encoding: chunked/i);
      // The body ends only with the connection: it must not promise to keep it.
      expect(text).toMatch(/\r\nconnection: close\r\n/i);
      expect(text).not.toMatch(/connection: keep-alive/i);
      expect(text).toMatch(/\r\n\r\nid: \S+\nretry: 3000\n: connected\n\nevent: update\nid: \S+\ndata: \{"n":1\}\n\n$/);
    } finally {
      socket.destroy();
    }
  });

  it('returns 0 for a user with no open stream', () => {
    expect(sse.sendToUser('nobody', { type: 'notification', data: {} })).toBe(0);
  });

  it('keeps multi-line strings and any JSON value intact through a spec-compliant client', async () => {
    const a = await connect('A');
    const values = [
      'line 1\nline 2\r\nline 3\rline 4\n\n',
      { nested: { text: 'a\nb', list: [1, 'two', null, true] }, unicode: 'żółw 🐢' },
      'data: not a field\nid: 666\nevent: nope',
      42,
      null,
      '',
    ];
    for (const data of values) sse.sendToUser('A', { type: 'notification', data });
    await a.until(() => a.events.length === values.length);
    expect(a.events.map((e) => e.data)).toEqual(values);
    expect(a.events.every((e) => e.type === 'notification')).toBe(true);
  });

  it('assigns ordered ids, and refuses caller ids while history is on', async () => {
    const a = await connect('A');
    expect(() => sse.sendToUser('A', { type: 'notification', data: 1, id: 'order-42' })).toThrow(
      /assigned by the server/,
    );
    sse.sendToUser('A', { type: 'notification', data: 1 });
    sse.broadcast({ type: 'notification', data: 2 });
    await a.until(() => a.events.length === 2);
    const [first, second] = a.events.map((e) => e.lastEventId.split('-').map(Number));
    expect(first).toHaveLength(2);
    expect(second[0] > first[0] || (second[0] === first[0] && second[1] > first[1])).toBe(true);
  });

  it('sends a caller-supplied safe id on the wire when history is off', async () => {
    const noHistory = await startLibrary({ heartbeatIntervalMs: 0, history: false }, {}, { adapter });
    const client = new StreamClient(`${noHistory.baseUrl}/api/events?token=${signToken('A')}`);
    try {
      await client.opened();
      noHistory.app.get(SseService).sendToUser('A', { type: 'notification', data: 1, id: 'order-42:v1' });
      await client.until(() => client.events.length === 1);
      expect(client.events[0].lastEventId).toBe('order-42:v1');
      expect(() => noHistory.app.get(SseService).sendToUser('A', { type: 'notification', data: 1, id: 'a b' })).toThrow(
        SseEventError,
      );
    } finally {
      client.close();
      await noHistory.close();
    }
  });

  it('allows custom safe type names', async () => {
    const a = await connect('A', ['order.status:changed']);
    sse.sendToUser('A', { type: 'order.status:changed', data: 'ok' });
    await a.until(() => a.events.length === 1);
    expect(a.events[0].type).toBe('order.status:changed');
  });

  const unsafeTypes = [
    '',
    'a\nb',
    'a\rb',
    'a\0b',
    'has space',
    '1starts-with-digit',
    ':comment',
    'x'.repeat(65),
    'événement',
  ];
  it.each(unsafeTypes.map((t) => [JSON.stringify(t)]))('rejects the event type %s at the call site', async (json) => {
    const type = JSON.parse(json) as string;
    const a = await connect('A');
    for (const send of [
      () => sse.sendToUser('A', { type, data: 'x' }),
      () => sse.sendToUsers(['A'], { type, data: 'x' }),
      () => sse.broadcast({ type, data: 'x' }),
    ]) {
      expect(send).toThrow(SseEventError);
    }
    await expectNothingLeaked(a);
  });

  const unsafeIds = ['', 'a\nb', 'a\rb', 'a\0b', 'has space', 'x'.repeat(129), 'ünicode'];
  it.each(unsafeIds.map((t) => [JSON.stringify(t)]))('rejects the event id %s at the call site', async (json) => {
    const id = JSON.parse(json) as string;
    const a = await connect('A');
    expect(() => sse.sendToUser('A', { type: 'notification', data: 'x', id })).toThrow(SseEventError);
    expect(() => sse.broadcast({ type: 'notification', data: 'x', id })).toThrow(SseEventError);
    await expectNothingLeaked(a);
  });

  it('rejects data that cannot be serialised, and bad user ids', async () => {
    const a = await connect('A');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => sse.sendToUser('A', { type: 'update', data: circular })).toThrow(/not JSON-serialisable/);
    expect(() => sse.sendToUser('A', { type: 'update', data: 10n })).toThrow(SseEventError);
    expect(() => sse.sendToUser('A', { type: 'update', data: () => 1 })).toThrow(SseEventError);
    expect(() => sse.sendToUser('', { type: 'update', data: 1 })).toThrow(SseEventError);
    expect(() => sse.sendToUsers(['A', 7 as unknown as string], { type: 'update', data: 1 })).toThrow(SseEventError);
    await expectNothingLeaked(a);
  });

  it('ends every stream of a user on disconnectUser', async () => {
    const raw = rawGet(`${server.baseUrl}/api/events?token=${signToken('Z')}`, {}, 3000);
    await waitForCount(() => sse.connectionCount('Z'), 1);
    expect(sse.disconnectUser('Z')).toBe(1);
    const res = await raw;
    expect(res.ended).toBe(true);
    expect(sse.connectionCount('Z')).toBe(0);
  });

  /** Nothing was written for the rejected sends: the next event is the first one the client sees. */
  async function expectNothingLeaked(client: StreamClient): Promise<void> {
    sse.sendToUser('A', { type: 'notification', data: 'after' });
    await client.until(() => client.events.length >= 1);
    await sleep(20);
    expect(client.events.map((e) => e.data)).toEqual(['after']);
  }
});
