import { MemoryHistoryStore, SseModule, SseService } from '@nest-sse/server';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { SSE_HISTORY_STORE } from '../libs/sse/src/sse.tokens.js';
import { type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { openRaw, StreamClient, waitForCount } from './support/sse-client.js';

const USERS = 50_000;
/** Heap growth allowed for 50,000 users with one small event each: about 30 MB is measured, 428 MB before buffers grew on demand. */
const HEAP_BOUND = 100 * 1024 * 1024;

/** The id a stream opens with: a position in this server's history, from before whatever is published next. */
async function positionNow(server: RunningApp): Promise<string> {
  const stream = await openRaw(`${server.baseUrl}/api/events?token=${signToken('clock')}`);
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no opening id within 5 s')), 5000);
      const check = () => {
        const id = /^id: (\S+)$/m.exec(stream.body())?.[1];
        if (id) {
          clearTimeout(timer);
          resolve(id);
        }
      };
      stream.response.on('data', check);
      check();
    });
  } finally {
    stream.destroy();
  }
}

describe.each(ADAPTERS)('on %s, history.maxUsers: 3', (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  const clients: StreamClient[] = [];
  beforeAll(async () => {
    server = await startLibrary(
      { heartbeatIntervalMs: 0, history: { maxEvents: 10, ttlMs: 60_000, maxUsers: 3 } },
      {},
      { adapter },
    );
    sse = server.app.get(SseService);
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitForCount(() => sse.connectionCount(), 0);
  });
  afterAll(() => server.close());

  const resume = (user: string, lastEventId: string) => {
    const client = new StreamClient(`${server.baseUrl}/api/events?token=${signToken(user)}`, [], {
      'Last-Event-ID': lastEventId,
    });
    clients.push(client);
    return client;
  };

  it('gives the first of four offline users a too-old reset on resume, and the other three their event', async () => {
    const before = await positionNow(server);
    const users = ['first', 'second', 'third', 'fourth'];
    for (const user of users) sse.sendToUser(user, { type: 'notification', data: `for ${user}` });
    expect(server.app.get<MemoryHistoryStore>(SSE_HISTORY_STORE).userCount()).toBe(3);

    const [first, ...others] = users.map((user) => resume(user, before));
    await first.until(() => first.events.length > 0, 5000, "the evicted user's reset");
    expect(first.events.map((e) => e.type)).toEqual(['reset']);
    expect(first.events[0].data).toMatchObject({ reason: 'too-old' });

    await Promise.all(others.map((c) => c.until(() => c.events.length > 0, 5000, 'the replay')));
    others.forEach((client, i) => {
      expect(client.events.map((e) => [e.type, e.data])).toEqual([['notification', `for ${users[i + 1]}`]]);
    });
  });
});

describe('history memory per kept user', () => {
  let server: RunningApp | undefined;
  afterEach(() => server?.close());

  /** Sends one event to each of 50,000 offline users; heap growth is measured after a full GC where `--expose-gc` allows. */
  async function sendToManyUsers(history: { maxUsers?: number } = {}) {
    server = await startLibrary({ heartbeatIntervalMs: 0, history });
    const sse = server.app.get(SseService);
    const store = server.app.get<MemoryHistoryStore>(SSE_HISTORY_STORE);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < USERS; i++) sse.sendToUser(`user-${i}`, { type: 'notification', data: { n: i } });
    gc?.();
    return { store, heapGrowth: process.memoryUsage().heapUsed - before };
  }

  it('keeps 50,000 offline users who each got one sendToUser in a few slots each, well under 100 MB of heap', async () => {
    const { store, heapGrowth } = await sendToManyUsers();
    expect(store.userCount()).toBe(USERS);
    expect(store.size()).toBe(USERS);
    // Each log starts at 4 slots (not maxEvents = 1000); the broadcasts' log adds 4.
    expect(store.slots()).toBe(4 * (USERS + 1));
    expect(heapGrowth).toBeLessThan(HEAP_BOUND);
  });

  it('with history.maxUsers: 10000, keeps only the 10,000 users written most recently', async () => {
    const { store } = await sendToManyUsers({ maxUsers: 10_000 });
    expect(store.userCount()).toBe(10_000);
    expect(store.size(`user-${USERS - 10_000 - 1}`)).toBe(0);
    expect(store.size(`user-${USERS - 10_000}`)).toBe(1);
    expect(store.size(`user-${USERS - 1}`)).toBe(1);
  });

  it.each([0, 1.5, 2 ** 24 + 1])('refuses history.maxUsers %p at startup', async (maxUsers) => {
    @Module({ imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, history: { maxUsers } })] })
    class BrokenModule {}
    await expect(Test.createTestingModule({ imports: [BrokenModule] }).compile()).rejects.toThrow(
      /history\.maxUsers must be an integer between 1 and 16777216/,
    );
  });
});
