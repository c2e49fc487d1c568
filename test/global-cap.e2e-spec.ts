import { createSseClient, type SseStatusReason } from '@nest-sse/client';
import { SseService } from '@nest-sse/server';
import { EventSource } from 'eventsource';

import { type RunningApp, signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { openRaw, rawGet, waitForCount } from './support/sse-client.js';

const CAP = 3;
const RETRY_MS = 1000;
const RETRY_JITTER_MS = 2000;
/** What a stream past the cap gets: 200, a jittered retry hint and why, then the end. */
const CAPACITY_ANSWER = /^retry: (\d+)\n: server at capacity: reconnect later\n\n$/;

describe.each(ADAPTERS)('maxConnections on %s', (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  const url = (user: string) => `${server.baseUrl}/api/events?token=${signToken(user)}`;
  const open = (user: string) => openRaw(url(user));
  type Stream = Awaited<ReturnType<typeof open>>;
  const started = (s: Stream) => s.body().includes(': connected');

  beforeEach(async () => {
    server = await startLibrary(
      { heartbeatIntervalMs: 0, maxConnections: CAP, retryMs: RETRY_MS, retryJitterMs: RETRY_JITTER_MS },
      {},
      { adapter },
    );
    sse = server.app.get(SseService);
  });
  afterEach(() => server.close());

  it(`answers the stream past ${CAP} (any users) 200 with a jittered retry hint and ends it, holding no slot and counted; once one leaves, a new one streams`, async () => {
    const streams = await Promise.all(['a', 'b', 'c'].map(open));
    await waitForCount(() => sse.connectionCount(), CAP);

    const turnedAway = await rawGet(url('d'), {}, 5000);
    expect(turnedAway.status).toBe(200);
    expect(turnedAway.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(turnedAway.ended).toBe(true);
    const hint = Number(turnedAway.body.match(CAPACITY_ANSWER)?.[1]);
    expect(hint).toBeGreaterThanOrEqual(RETRY_MS);
    expect(hint).toBeLessThanOrEqual(RETRY_MS + RETRY_JITTER_MS);
    expect(sse.rejectedConnectionCount()).toBe(1);
    expect(sse.connectionCount()).toBe(CAP);
    expect(sse.isConnected('d')).toBe(false);

    streams[0].destroy();
    await waitForCount(() => sse.connectionCount(), CAP - 1);
    const next = await open('d');
    streams.push(next);
    expect(next.status).toBe(200);
    sse.sendToUser('d', { type: 'notification', data: 'in' });
    await waitForCount(() => (next.body().includes('data: "in"') ? 1 : 0), 1);
    expect(sse.rejectedConnectionCount()).toBe(1);
    streams.forEach((s) => s.destroy());
  });

  it(`lets exactly ${CAP} of 10 concurrent connects stream; the other 7 get the retry hint, with hints that differ`, async () => {
    const streams = await Promise.all(Array.from({ length: 10 }, (_, i) => open(`concurrent-${i}`)));
    await Promise.all(
      streams.map((s) => waitForCount(() => (started(s) || CAPACITY_ANSWER.test(s.body()) ? 1 : 0), 1)),
    );
    const streaming = streams.filter(started);
    const refused = streams.filter((s) => CAPACITY_ANSWER.test(s.body()));
    expect(streaming).toHaveLength(CAP);
    expect(refused).toHaveLength(10 - CAP);
    await Promise.all(refused.map((s) => s.ended));
    expect(sse.connectionCount()).toBe(CAP);
    expect(sse.rejectedConnectionCount()).toBe(10 - CAP);
    // 7 draws from 2,001 values: all but a rare collision differ.
    const hints = refused.map((s) => Number(s.body().match(CAPACITY_ANSWER)![1]));
    expect(new Set(hints).size).toBeGreaterThanOrEqual(10 - CAP - 2);
    streams.forEach((s) => s.destroy());
  });
});

describe('SseClient past maxConnections', () => {
  let server: RunningApp;
  afterEach(() => server.close());

  it('reconnects by itself after the hint (50–100 ms here, not the EventSource default of seconds), as after a normal drop (no token renewal, no error), and streams once a slot is free', async () => {
    server = await startLibrary({ heartbeatIntervalMs: 0, maxConnections: 1, retryMs: 50, retryJitterMs: 50 });
    const sse = server.app.get(SseService);
    const holder = await openRaw(`${server.baseUrl}/api/events?token=${signToken('holder')}`);
    await waitForCount(() => sse.connectionCount(), 1);

    const reasons: SseStatusReason[] = [];
    const received: unknown[] = [];
    let tokens = 0;
    const errors: unknown[] = [];
    const connecting = Date.now();
    const client = createSseClient(`${server.baseUrl}/api/events`, {
      EventSource: EventSource,
      getToken: () => {
        tokens++;
        return signToken('waiting');
      },
      onStatus: (_status, _previous, reason) => reasons.push(reason),
      handlers: { notification: (data) => received.push(data) },
      onError: (err) => errors.push(err),
    });
    try {
      // Turned away three times in well under what the EventSource waits without a hint (3 s).
      await waitForCount(() => sse.rejectedConnectionCount(), 0, 3);
      expect(Date.now() - connecting).toBeLessThan(1500);
      expect(reasons).toContain('dropped');
      expect(reasons).not.toContain('refused');
      expect(client.status).not.toBe('error');

      holder.destroy();
      await waitForCount(() => sse.connectionCount('waiting'), 1);
      sse.sendToUser('waiting', { type: 'notification', data: { n: 1 } });
      await waitForCount(() => received.length, 1);
      expect(received).toEqual([{ n: 1 }]);
      expect(client.status).toBe('open');
      // The browser's own reconnect: the first token is reused, nothing is reported as an error.
      expect(tokens).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      client.close();
      holder.destroy();
    }
  });
});
