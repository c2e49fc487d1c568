/**
 * `SseClient`'s tab sharing in a real headless Chromium, without React: each page of one
 * browser context loads the client (bundled from its sources by esbuild, served on the
 * app's own origin by the test) and opens clients with topics against the topics app,
 * whose policies are real (`feeds/*` open to all, `orders/:id` to the order's owner).
 * What each tab receives, and the server's count of streams, show that one stream
 * carries every tab's topics and that each tab gets only its own.
 */
import { fileURLToPath } from 'node:url';

import { SseService } from '@nest-sse/server';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';

import { launchChromium } from './support/chromium.js';
import { type RunningApp, signToken } from './support/demo-app.js';
import { sleep } from './support/sse-client.js';
import { startTopicsApp } from './support/topics-app.js';

const CLIENT_ENTRY = fileURLToPath(new URL('../libs/sse-client/src/index.ts', import.meta.url));
const WAIT = 15_000;

/** What a page's client received, by its test name. */
interface Received {
  type: string;
  id: string;
  data: unknown;
}

const HARNESS = `<!doctype html><meta charset="utf-8"><title>share harness</title>
<script type="module">
  import { createSseClient } from '/harness/sse-client.js';
  window.clients = {};
  window.received = {};
  window.open_ = (name, token, topics) => {
    window.received[name] = [];
    const record = (type) => (data, event) => window.received[name].push({ type, id: event.lastEventId, data });
    window.clients[name] = createSseClient('/api/events', {
      token,
      topics,
      share: { key: 'same-user' },
      backoff: { initialMs: 200, maxMs: 1000 },
      maxRecoveries: 3,
      handlers: { notification: record('notification'), order: record('order'), feed: record('feed') },
    });
  };
  window.state = (name) => {
    const c = window.clients[name];
    return { status: c.status, role: c.shareRole, reason: c.statusReason };
  };
  window.debug = (name) => {
    const c = window.clients[name];
    return { status: c.status, role: c.shareRole, reason: c.statusReason, lastEventId: c.lastEventId, shareStats: c.shareStats, error: c.error && c.error.message };
  };
  window.ready = true;
</script>`;

describe('SseClient tab sharing in headless Chromium: topics per tab on one stream', () => {
  let server: RunningApp & { access: { orderOwners: Map<string, string> } };
  let sse: SseService;
  let browser: Browser;
  let clientBundle: string;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  /** Topics asked on each GET /api/events, in order. */
  const streamTopics: string[][] = [];

  beforeAll(async () => {
    const bundled = await build({
      entryPoints: [CLIENT_ENTRY],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      logLevel: 'silent',
    });
    clientBundle = bundled.outputFiles[0].text;
    server = await startTopicsApp({ retryMs: 200 });
    sse = server.app.get(SseService);
    server.app.getHttpServer().on('request', (req: { url?: string; method?: string }) => {
      const url = new URL(req.url ?? '/', server.baseUrl);
      if (url.pathname === '/api/events' && req.method === 'GET') streamTopics.push(url.searchParams.getAll('topic'));
    });
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function newBrowser(): Promise<BrowserContext> {
    const context = await browser.newContext();
    contexts.push(context);
    // The harness page and the client bundle, served as if by the app itself (same origin as the stream).
    await context.route(`${server.baseUrl}/harness/**`, async (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === '/harness/sse-client.js')
        await route.fulfill({ contentType: 'text/javascript', body: clientBundle });
      else await route.fulfill({ contentType: 'text/html', body: HARNESS });
    });
    return context;
  }

  async function openTab(context: BrowserContext, user: string, topics: string[]): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.baseUrl}/harness/index.html`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    await page.evaluate(([token, t]) => (window as any).open_('tab', token, t), [signToken(user), topics] as const);
    return page;
  }

  const stateOf = (page: Page) =>
    page.evaluate(() => (window as any).state('tab') as { status: string; role: string; reason?: string });

  async function waitForState(page: Page, expected: Partial<{ status: string; role: string }>): Promise<void> {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const state = await stateOf(page);
      if (Object.entries(expected).every(([k, v]) => state[k as keyof typeof state] === v)) return;
      if (Date.now() > deadline)
        throw new Error(`tab is ${JSON.stringify(state)}, expected ${JSON.stringify(expected)}`);
      await sleep(50);
    }
  }

  const receivedBy = (page: Page) => page.evaluate(() => (window as any).received.tab as Received[]);

  async function waitForReceived(page: Page, count: number): Promise<Received[]> {
    try {
      await page.waitForFunction((n) => (window as any).received.tab.length >= n, count, { timeout: WAIT });
    } catch (err) {
      const got = (await receivedBy(page)).map((r) => `${r.id}:${JSON.stringify(r.data)}`);
      throw new Error(
        `${(err as Error).message}: received ${got.length} of ${count} (${got.join(' ')}), tab ${JSON.stringify(await page.evaluate(() => (window as any).debug?.('tab')))}`,
      );
    }
    return receivedBy(page);
  }

  async function waitUntil(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  it("three tabs with different topics hold one stream; each receives its own topics and the user's events, once each, nothing else", async () => {
    const user = 'uma';
    const context = await newBrowser();
    const feedA = await openTab(context, user, ['feeds/a']);
    await waitForState(feedA, { status: 'open', role: 'leader' });
    const feedB = await openTab(context, user, ['feeds/b']);
    const none = await openTab(context, user, []);
    for (const page of [feedB, none]) await waitForState(page, { status: 'open', role: 'follower' });
    await waitUntil(() => sse.connectionCount(user) === 1 && sse.topicCount() === 2, 'one stream carrying both topics');

    sse.publish('feeds/a', { type: 'feed', data: { n: 'a1' } });
    sse.publish('feeds/b', { type: 'feed', data: { n: 'b1' } });
    sse.sendToUser(user, { type: 'notification', data: { n: 'u1' } });
    sse.publish('feeds/a', { type: 'feed', data: { n: 'a2' } });

    const names = (list: Received[]) => list.map((r) => (r.data as { n: string }).n);
    expect(names(await waitForReceived(feedA, 3))).toEqual(['a1', 'u1', 'a2']);
    expect(names(await waitForReceived(feedB, 2))).toEqual(['b1', 'u1']);
    expect(names(await waitForReceived(none, 1))).toEqual(['u1']);
    // Waited a stated bound for anything more to arrive: nothing does.
    await sleep(300);
    expect(names(await receivedBy(feedA))).toEqual(['a1', 'u1', 'a2']);
    expect(names(await receivedBy(feedB))).toEqual(['b1', 'u1']);
    expect(names(await receivedBy(none))).toEqual(['u1']);
    expect(sse.connectionCount(user)).toBe(1);
  }, 60_000);

  it('a tab asking for a topic the user may not see (403) opens a stream of its own; the other tabs keep the shared stream and their topics', async () => {
    const user = 'vic';
    server.access.orderOwners.set('o-mine', user);
    const context = await newBrowser();
    const mine = await openTab(context, user, ['orders/o-mine']);
    await waitForState(mine, { status: 'open', role: 'leader' });
    const before = streamTopics.length;
    const other = await openTab(context, user, ['orders/o-theirs']);
    // The shared stream was refused with the new topic; the leader asked the URL (HEAD: 403)
    // and sent the asker solo: its own stream is refused, and it gives up after its retries.
    await waitForState(other, { role: 'none' });
    await waitForState(mine, { status: 'open', role: 'leader' });
    expect(streamTopics.slice(before)).toEqual(
      expect.arrayContaining([['orders/o-mine', 'orders/o-theirs'], ['orders/o-mine'], ['orders/o-theirs']]),
    );
    await waitUntil(() => sse.connectionCount(user) === 1, "the shared stream alone (the solo tab's are refused)");

    sse.publish('orders/o-mine', { type: 'order', data: { n: 'm1' } });
    sse.publish('orders/o-theirs', { type: 'order', data: { n: 't1' } });
    const got = await waitForReceived(mine, 1);
    expect(got.map((r) => (r.data as { n: string }).n)).toEqual(['m1']);
    await sleep(300);
    expect(await receivedBy(other)).toEqual([]);
  }, 60_000);

  it("a script of the origin posting forged messages on the group's channel (a bad topic, a status error, an absurd id, a roll-call, re-joins every 20 ms) silences no tab: every event arrives once, in order, on one stream", async () => {
    const user = 'wes';
    const context = await newBrowser();
    const tabs = [await openTab(context, user, ['feeds/a'])];
    await waitForState(tabs[0], { status: 'open', role: 'leader' });
    tabs.push(await openTab(context, user, ['feeds/a']), await openTab(context, user, []));
    for (const page of tabs.slice(1)) await waitForState(page, { status: 'open', role: 'follower' });
    await waitUntil(() => sse.connectionCount(user) === 1, 'one stream');
    const before = streamTopics.length;

    // Another page of the origin: no client, only a BroadcastChannel of the group's name.
    const script = await context.newPage();
    script.on('pageerror', (err) => pageErrors.push(err.message));
    await script.goto(`${server.baseUrl}/harness/index.html`);
    await script.evaluate(() => {
      const channel = new BroadcastChannel(`nest-sse:v1:${new URL('/api/events', location.href).href}|same-user`);
      const stranger = '000000000-forged00';
      const absurd = { type: 'feed', data: '{"n":"forged"}', id: '9999999999999-0', topic: undefined };
      let step = 0;
      (window as any).forging = setInterval(() => {
        step += 1;
        channel.postMessage({ kind: 'member', topics: ['not a topic!'] });
        channel.postMessage({
          kind: 'member',
          from: stranger,
          join: true,
          topics: step % 2 ? ['feeds/b'] : [],
          types: [],
          lastEventId: '1-0',
        });
        channel.postMessage({
          kind: 'status',
          from: stranger,
          status: 'error',
          reason: 'gave-up',
          topics: [],
          position: undefined,
          error: { code: 'gave-up', message: 'forged', httpStatus: undefined },
        });
        channel.postMessage({ kind: 'event', from: stranger, event: absurd });
        channel.postMessage({ kind: 'roll-call', from: stranger });
      }, 20);
    });

    const sent: string[] = [];
    for (let i = 1; i <= 20; i += 1) {
      const n = i % 2 ? `a${i}` : `u${i}`;
      sent.push(n);
      if (i % 2) sse.publish('feeds/a', { type: 'feed', data: { n } });
      else sse.sendToUser(user, { type: 'notification', data: { n } });
      await sleep(100);
    }
    await script.evaluate(() => clearInterval((window as any).forging));
    const names = (list: Received[]) => list.map((r) => (r.data as { n: string }).n);
    const users = sent.filter((n) => n.startsWith('u'));
    expect(names(await waitForReceived(tabs[0], sent.length))).toEqual(sent);
    expect(names(await waitForReceived(tabs[1], sent.length))).toEqual(sent);
    expect(names(await waitForReceived(tabs[2], users.length))).toEqual(users);
    // Waited a stated bound for anything more (a forged event, a repeat): nothing.
    await sleep(300);
    expect(names(await receivedBy(tabs[0]))).toEqual(sent);
    expect(names(await receivedBy(tabs[2]))).toEqual(users);
    for (const page of tabs) expect((await stateOf(page)).status).toBe('open');
    expect(sse.connectionCount(user)).toBe(1);
    // Two seconds of re-joins every 20 ms: at most one reconnect per second (and one of leeway).
    expect(streamTopics.length - before).toBeLessThanOrEqual(4);
  }, 60_000);
});
