import net from 'node:net';

import { SseEventError, SseService } from '@nest-sse/server';

import { ConditionWaiter } from './support/condition-waiter.js';
import type { RunningApp } from './support/demo-app.js';
import { signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { openRaw, waitForCount } from './support/sse-client.js';

/** 1 KB of data per event, as in the reproduction. */
const KB = 'x'.repeat(1000);

/** A stream read as it arrives: the seq of every `update`, in order, and whether the server ended it. */
async function readUpdates(url: string, headers: Record<string, string> = {}) {
  const stream = await openRaw(url, headers);
  const changes = new ConditionWaiter();
  const seqs: number[] = [];
  let ended = false;
  // Parsed from what openRaw collected: its first chunks may have come before this listener.
  let parsed = 0;
  const parse = () => {
    const body = stream.body();
    const end = body.lastIndexOf('\n\n');
    if (end < parsed) return;
    for (const block of body.slice(parsed, end).split('\n\n')) {
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (/^event: update$/m.test(block) && data) seqs.push((JSON.parse(data) as { seq: number }).seq);
    }
    parsed = end + 2;
    changes.notify();
  };
  parse();
  stream.response.on('data', () => setImmediate(parse));
  void stream.ended.then(() => {
    parse();
    ended = true;
    changes.notify();
  });
  return {
    ...stream,
    seqs,
    get ended() {
      return ended;
    },
    until: (predicate: () => boolean, what: string, timeoutMs = 20_000) => changes.until(predicate, timeoutMs, what),
  };
}

const inOrder = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe.each(ADAPTERS)('back-pressure: a reading client is never dropped (%s)', (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  beforeAll(async () => {
    // The default limit (1 MiB): each case below sends several times that to a client that reads.
    server = await startLibrary(
      { heartbeatIntervalMs: 0, history: { maxEvents: 6000 } },
      {},
      { adapter, logger: false },
    );
    sse = server.app.get(SseService);
  });
  afterAll(() => server.close());
  const url = (user: string) => `${server.baseUrl}/api/events?token=${signToken(user)}`;

  it('resumes across 5,000 missed events of 1 KB (5 MB): all arrive, in order, on one connection', async () => {
    const first = await readUpdates(url('resumer'));
    sse.sendToUser('resumer', { type: 'update', data: { seq: -1, pad: KB } });
    await first.until(() => first.seqs.length === 1, 'the event before the gap');
    const lastId = /^id: (\S+)$/gm.exec(first.body().split('event: update')[1])![1];
    first.destroy();
    await waitForCount(() => sse.connectionCount('resumer'), 0);
    for (let seq = 0; seq < 5000; seq++) sse.sendToUser('resumer', { type: 'update', data: { seq, pad: KB } });

    const resumed = await readUpdates(url('resumer'), { 'last-event-id': lastId });
    await resumed.until(() => resumed.seqs.length >= 5000 || resumed.ended, 'the whole replay');
    expect(resumed.ended).toBe(false);
    expect(resumed.seqs).toEqual(inOrder(5000));
    // Live events after the replay follow it on the same connection.
    sse.sendToUser('resumer', { type: 'update', data: { seq: 5000, pad: KB } });
    await resumed.until(() => resumed.seqs.length === 5001, 'the live event after the replay');
    expect(sse.connectionCount('resumer')).toBe(1);
    resumed.destroy();
  });

  it('delivers 2,000 broadcasts of 1 KB made in one tick (2 MB) to every reading client', async () => {
    const clients = await Promise.all(['b1', 'b2', 'b3'].map((u) => readUpdates(url(u))));
    await waitForCount(() => sse.connectionCount(), 3);
    for (let seq = 0; seq < 2000; seq++) sse.broadcast({ type: 'update', data: { seq, pad: KB } });
    for (const c of clients) {
      await c.until(() => c.seqs.length >= 2000 || c.ended, 'every broadcast');
      expect(c.ended).toBe(false);
      expect(c.seqs).toEqual(inOrder(2000));
    }
    expect(sse.connectionCount()).toBe(3);
    clients.forEach((c) => c.destroy());
    await waitForCount(() => sse.connectionCount(), 0);
  });

  it('writes everything still queued before it ends a stream (a burst, then disconnectUser in the same tick)', async () => {
    const client = await readUpdates(url('leaving'));
    await waitForCount(() => sse.connectionCount('leaving'), 1);
    for (let seq = 0; seq < 2000; seq++) sse.sendToUser('leaving', { type: 'update', data: { seq, pad: KB } });
    sse.disconnectUser('leaving');
    await client.until(() => client.ended, 'the end of the stream');
    expect(client.seqs).toEqual(inOrder(2000));
  });
});

describe.each(ADAPTERS)('back-pressure: a client that does not read (%s)', (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  beforeAll(async () => {
    server = await startLibrary(
      { heartbeatIntervalMs: 0 },
      { maxPendingDataLength: 256 * 1024 },
      { adapter, logger: false },
    );
    sse = server.app.get(SseService);
  });
  afterAll(() => server.close());

  it('is still dropped while a reading client of the same broadcasts is served', async () => {
    const { port } = new URL(server.baseUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.write(`GET /api/events?token=${signToken('stalled')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => socket.once('data', r));
    socket.pause(); // reads nothing more: the kernel's buffers fill, then the server's
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    const reader = await readUpdates(`${server.baseUrl}/api/events?token=${signToken('reader')}`);
    await waitForCount(() => sse.connectionCount(), 2);

    // About 10 MB a second, up to 40 MB: far past what loopback's kernel buffers take.
    let seq = 0;
    while (sse.connectionCount('stalled') > 0 && seq < 40_000) {
      for (let i = 0; i < 500; i++) sse.broadcast({ type: 'update', data: { seq: seq++, pad: KB } });
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitForCount(() => sse.connectionCount('stalled'), 0);
    socket.resume();
    await closed;
    await reader.until(() => reader.seqs.length >= seq || reader.ended, 'every broadcast at the reader');
    expect(reader.ended).toBe(false);
    expect(reader.seqs).toEqual(inOrder(seq));
    reader.destroy();
  });

  it('refuses an event larger than maxPendingDataLength when it is published, before anyone sees it', async () => {
    const client = await readUpdates(`${server.baseUrl}/api/events?token=${signToken('big')}`);
    await waitForCount(() => sse.connectionCount('big'), 1);
    const tooBig = { type: 'update', data: { seq: 0, pad: 'x'.repeat(256 * 1024) } };
    expect(() => sse.sendToUser('big', tooBig)).toThrow(SseEventError);
    expect(() => sse.broadcast(tooBig)).toThrow(/larger than/);
    // Just under the limit is sent.
    sse.sendToUser('big', { type: 'update', data: { seq: 1, pad: 'x'.repeat(200 * 1024) } });
    await client.until(() => client.seqs.length === 1, 'the event under the limit');
    expect(client.seqs).toEqual([1]);
    client.destroy();
  });
});
