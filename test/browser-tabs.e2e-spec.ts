/**
 * One stream per browser, shared by its tabs, in a real headless Chromium:
 * several pages of one browser context on the demo's dashboard, each connected as the
 * same user. The server's own count of the user's streams is the proof of sharing.
 */
import { execFileSync } from 'node:child_process';
import type { IncomingMessage, Server } from 'node:http';
import { fileURLToPath } from 'node:url';

import { SseService } from '@nest-sse/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';

import { launchChromium } from './support/chromium.js';
import { type RunningApp, startDemo } from './support/demo-app.js';
import { sleep } from './support/sse-client.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WAIT = 15_000;

describe('tabs of one browser share one stream (headless Chromium)', () => {
  let server: RunningApp;
  let sse: SseService;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  /** Every /api/events stream (GET): its ticket is opaque here, so the URL's other parameters. */
  const streamRequests: URLSearchParams[] = [];
  /** Every URL the tabs requested: the dashboard uses tickets, so none may carry a token. */
  const pageRequestUrls: string[] = [];
  let users = 0;
  /** A user of its own per test: the server's counts are per user. */
  const newUser = () => `tabs-${++users}`;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build-dashboard.mjs'], { cwd: ROOT, stdio: 'pipe' });
    server = await startDemo({ heartbeatMs: 0, shipDelayMs: 3_000 });
    sse = server.app.get(SseService);
    (server.app.getHttpServer() as Server).on('request', (req: IncomingMessage) => {
      const url = new URL(req.url ?? '/', server.baseUrl);
      if (url.pathname === '/api/events' && req.method === 'GET') streamRequests.push(url.searchParams);
    });
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    expect(pageErrors.splice(0)).toEqual([]);
    expect(pageRequestUrls.splice(0).filter((url) => /[?&]token=/.test(url))).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** One browser (context): its pages are tabs of one origin, sharing BroadcastChannel and Web Locks. */
  async function newBrowser(initScript?: () => void): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    if (initScript) await context.addInitScript(initScript);
    contexts.push(context);
    context.on('request', (r) => pageRequestUrls.push(r.url()));
    return context;
  }

  async function openTab(context: BrowserContext, userId: string, query = ''): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.baseUrl}/${query}`);
    await page.getByTestId('user-id').fill(userId);
    await page.getByTestId('connect').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'open', null, {
      timeout: WAIT,
    });
    return page;
  }

  async function openTabs(context: BrowserContext, userId: string, count: number, query = ''): Promise<Page[]> {
    const pages: Page[] = [];
    for (let i = 0; i < count; i++) pages.push(await openTab(context, userId, query));
    return pages;
  }

  /** `count` tabs of a new user in a new browser, sharing one stream: which one leads, and the others. */
  async function sharedTabs(count: number) {
    const user = newUser();
    const context = await newBrowser();
    const tabs = await openTabs(context, user, count);
    await expectStreams(user, 1);
    const leader = await leaderOf(tabs);
    return { user, context, tabs, leader, others: tabs.filter((t) => t !== leader) };
  }

  const roleOf = (page: Page) => page.getByTestId('share-role').getAttribute('data-share-role');

  async function leaderOf(pages: Page[]): Promise<Page> {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const roles = await Promise.all(pages.map(roleOf));
      const leaders = pages.filter((_, i) => roles[i] === 'leader');
      if (leaders.length === 1) return leaders[0];
      if (Date.now() > deadline) throw new Error(`no single leader: ${roles.join(', ')}`);
      await sleep(50);
    }
  }

  /** Waits until the user has exactly `count` streams on the server, and they stay so for `settleMs`. */
  async function expectStreams(userId: string, count: number, settleMs = 500): Promise<void> {
    const deadline = Date.now() + WAIT;
    let stableSince = Date.now();
    for (;;) {
      const now = sse.connectionCount(userId);
      if (now !== count) stableSince = Date.now();
      else if (Date.now() - stableSince >= settleMs) return;
      if (Date.now() > deadline) throw new Error(`${userId} has ${now} streams, expected ${count}`);
      await sleep(20);
    }
  }

  /** The messages a tab lists, oldest first, with their ids. */
  async function listed(page: Page, prefix: string): Promise<Array<{ id: string; message: string }>> {
    const items = await page.$$eval('[data-testid="event"]', (lis) =>
      lis.map((li) => ({
        id: (li as HTMLElement).dataset.eventId ?? '',
        message: li.querySelector('.message')?.textContent ?? '',
      })),
    );
    return items.reverse().filter((item) => item.message.startsWith(prefix));
  }

  async function describeTab(page: Page): Promise<string> {
    if (page.isClosed()) return 'closed';
    return page
      .evaluate(() => {
        const text = (id: string) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '?';
        const role = document.querySelector('[data-testid="share-role"]')?.getAttribute('data-share-role');
        return `${role} ${text('status')} last=${text('last-event-id')} listed=${document.querySelectorAll('[data-testid="event"]').length}`;
      })
      .catch((err: Error) => `unreadable (${err.message.split('\n')[0]})`);
  }

  /** Waits until `page` lists `count` messages starting with `prefix`. */
  async function waitForListed(page: Page, prefix: string, count: number): Promise<void> {
    await page.waitForFunction(
      ([p, n]) =>
        [...document.querySelectorAll('[data-testid="event"] .message')].filter((m) => m.textContent?.startsWith(p))
          .length >= n,
      [prefix, count] as const,
      { timeout: WAIT },
    );
  }

  /** Every tab lists exactly `messages`, in this order, each once, with increasing ids. */
  async function expectEveryTabListed(pages: Page[], prefix: string, messages: string[]): Promise<void> {
    for (const page of pages) {
      await waitForListed(page, prefix, messages.length).catch(async (err: Error) => {
        const states = await Promise.all(pages.map(describeTab));
        throw new Error(
          `${err.message}\nwaiting for ${messages.length} "${prefix}" events; tabs: ${states.join(' | ')}`,
        );
      });
      const items = await listed(page, prefix);
      expect(items.map((i) => i.message)).toEqual(messages);
      const ids = items.map((i) => i.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(await page.getByTestId('duplicates').textContent()).toBe('0');
    }
  }

  function publish(userId: string, prefix: string, count: number): string[] {
    const messages = Array.from({ length: count }, (_, i) => `${prefix} ${String(i).padStart(3, '0')}`);
    for (const message of messages) sse.sendToUser(userId, { type: 'notification', data: { message } });
    return messages;
  }

  it('8 tabs: the server counts 1 stream for the user, and every tab lists every event once, in order', async () => {
    const user = newUser();
    const context = await newBrowser();
    const tabs = await openTabs(context, user, 8);
    await expectStreams(user, 1);
    const roles = await Promise.all(tabs.map(roleOf));
    expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
    expect(roles.filter((r) => r === 'follower')).toHaveLength(7);

    const messages = publish(user, 'eight', 30);
    await expectEveryTabListed(tabs, 'eight', messages);
    // The per-user limit (5) would have refused tabs 6 to 8 with a stream each.
    expect(sse.connectionCount(user)).toBe(1);
  }, 90_000);

  it('the leader tab closed mid-burst: another takes over and the others list every event of the burst once, in order', async () => {
    const { user, leader, others } = await sharedTabs(4);
    const requestsBefore = streamRequests.length;

    // 150 events a few ms apart; the leader's page closes after the 60th.
    const messages: string[] = [];
    for (let i = 0; i < 150; i++) {
      const message = `burst ${String(i).padStart(3, '0')}`;
      sse.sendToUser(user, { type: 'notification', data: { message } });
      messages.push(message);
      if (i === 60) void leader.close();
      await sleep(4);
    }
    await expectEveryTabListed(others, 'burst', messages);
    const newLeader = await leaderOf(others);
    expect(newLeader).toBeDefined();
    await expectStreams(user, 1);
    // The new leader resumed after the newest id the tabs had seen (?lastEventId=).
    const resumed = streamRequests.slice(requestsBefore).map((p) => p.get('lastEventId'));
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed.every((id) => typeof id === 'string' && /^\d+-\d+$/.test(id))).toBe(true);
  }, 90_000);

  it('a tab opened later gets the new events, and the server still counts 1 stream', async () => {
    const user = newUser();
    const context = await newBrowser();
    const first = await openTabs(context, user, 2);
    await expectStreams(user, 1);
    const early = publish(user, 'early', 3);
    await expectEveryTabListed(first, 'early', early);

    const late = await openTab(context, user);
    await expectStreams(user, 1);
    expect(await roleOf(late)).toBe('follower');
    const after = publish(user, 'after', 5);
    await expectEveryTabListed([...first, late], 'after', after);
    // The new tab starts at the present, as a stream of its own would.
    expect(await listed(late, 'early')).toEqual([]);
  }, 60_000);

  it('share=0: one stream per tab, each listing every event', async () => {
    const user = newUser();
    const context = await newBrowser();
    const tabs = await openTabs(context, user, 3, '?share=0');
    await expectStreams(user, 3);
    expect(await Promise.all(tabs.map(roleOf))).toEqual(['none', 'none', 'none']);
    const messages = publish(user, 'own', 10);
    await expectEveryTabListed(tabs, 'own', messages);
  }, 60_000);

  it('without BroadcastChannel (older browsers, some embedded views) each tab opens its own stream, as before', async () => {
    const user = newUser();
    const context = await newBrowser(() => {
      delete (window as { BroadcastChannel?: unknown }).BroadcastChannel;
    });
    const tabs = await openTabs(context, user, 3);
    expect(await tabs[0].evaluate(() => typeof (window as { BroadcastChannel?: unknown }).BroadcastChannel)).toBe(
      'undefined',
    );
    await expectStreams(user, 3);
    expect(await Promise.all(tabs.map(roleOf))).toEqual(['none', 'none', 'none']);
    const messages = publish(user, 'alone', 10);
    await expectEveryTabListed(tabs, 'alone', messages);
  }, 60_000);

  it('without Web Locks the lease election shares one stream, and hands it over when the leader tab closes', async () => {
    const user = newUser();
    const context = await newBrowser(() => {
      Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
    });
    const tabs = await openTabs(context, user, 3);
    expect(await tabs[0].evaluate(() => navigator.locks === undefined)).toBe(true);
    await expectStreams(user, 1);
    const before = publish(user, 'lease-before', 5);
    await expectEveryTabListed(tabs, 'lease-before', before);

    const leader = await leaderOf(tabs);
    const others = tabs.filter((t) => t !== leader);
    await leader.close();
    await leaderOf(others);
    const after = publish(user, 'lease-after', 5);
    await expectEveryTabListed(others, 'lease-after', after);
    await expectStreams(user, 1);
  }, 60_000);

  it('a crashed leader tab (Web Locks released by the browser) is replaced, resuming without loss', async () => {
    const { user, context, leader, others } = await sharedTabs(3);
    // The next leader's token request (for its ticket) is held until the events below are published: they fall
    // in the gap between the streams, so only a resume from the old stream's position brings them.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await context.route('**/api/dev/token', async (route) => {
      await held;
      await route.continue();
    });
    const session = await context.newCDPSession(leader);
    // Crashing the renderer: no pagehide, no goodbye; only the lock's release tells the others.
    // (The command never answers: its target is gone.)
    void session.send('Page.crash').catch(() => undefined);
    await leaderOf(others);
    await expectStreams(user, 0, 0);
    const during = publish(user, 'crash', 10);
    release();
    await expectEveryTabListed(others, 'crash', during);
    await expectStreams(user, 1);
  }, 60_000);

  it('a leader tab whose page stops running (frozen, or hung) keeps its lock: another tab takes over within seconds, without loss; running again, the old leader follows', async () => {
    const { user, tabs, leader, others } = await sharedTabs(3);
    // A frozen page runs no task, as this busy loop does for 8 s (headless Chromium does not
    // freeze a visible page on request); its EventSource stays connected meanwhile.
    const stopped = leader.evaluate(() => {
      const until = Date.now() + 8_000;
      while (Date.now() < until);
    });
    const takenOverAt = Date.now();
    await leaderOf(others);
    const tookMs = Date.now() - takenOverAt;
    // The watch: about 1 s of silence, a ping, 2 s without an answer, then a steal of the lock.
    expect(tookMs).toBeLessThan(7_000);
    const during = publish(user, 'stuck', 5);
    await expectEveryTabListed(others, 'stuck', during);

    await stopped;
    // Running again, the old leader learns its lock was stolen, closes its stream and follows.
    await expectStreams(user, 1);
    expect(await roleOf(leader)).toBe('follower');
    const after = publish(user, 'running', 5);
    await expectEveryTabListed(tabs, 'running', after);
  }, 60_000);

  it("the page lifecycle: a leader page's freeze event hands the stream over at once, its resume joins again as a follower; pagehide (bfcache) likewise", async () => {
    const { user, tabs, leader, others } = await sharedTabs(3);
    // Chromium freezes only hidden pages, and not on request in headless mode: the events are dispatched as it would.
    await leader.evaluate(() => document.dispatchEvent(new Event('freeze')));
    const next = await leaderOf(others);
    expect(await roleOf(leader)).toBe('follower');
    const during = publish(user, 'freeze', 5);
    await expectEveryTabListed(others, 'freeze', during);
    await leader.evaluate(() => document.dispatchEvent(new Event('resume')));
    const after = publish(user, 'resumed', 5);
    await expectEveryTabListed(tabs, 'resumed', after);
    await expectStreams(user, 1);

    await next.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
    const third = await leaderOf(tabs.filter((t) => t !== next));
    expect(third).not.toBe(next);
    await next.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })));
    const back = publish(user, 'shown', 5);
    await expectEveryTabListed(tabs, 'shown', back);
    await expectStreams(user, 1);
  }, 60_000);

  it("a tab watching an order adds its topic to the shared stream; the topic leaves with the tab's view", async () => {
    const user = newUser();
    const context = await newBrowser();
    const [watcher, other] = await openTabs(context, user, 2);
    await expectStreams(user, 1);
    await watcher.getByTestId('order-item').fill('kettle');
    const [response] = await Promise.all([
      watcher.waitForResponse((r) => r.url().endsWith('/api/orders') && r.request().method() === 'POST'),
      watcher.getByTestId('order-submit').click(),
    ]);
    const order = (await response.json()) as { id: string };
    await watcher.locator(`[data-order-id="${order.id}"] [data-testid="order-watch"]`).click();
    const detail = watcher.locator(`[data-testid="order-detail"][data-order-id="${order.id}"]`);
    await detail.locator('[data-testid="order-detail-status"]:text-is("open")').waitFor({ timeout: WAIT });
    expect(sse.topicCount()).toBe(1);
    await expectStreams(user, 1);

    // The shipment (3 s after the order) reaches the detail over the one shared stream.
    const shipped = detail.locator('[data-testid="order-detail-event"][data-kind="order.shipped"]');
    await shipped.waitFor({ timeout: WAIT });
    expect(await shipped.count()).toBe(1);
    // Both tabs list the user's own update about it.
    for (const page of [watcher, other]) {
      await page.waitForSelector(`[data-order-id="${order.id}"] [data-testid="order-status"]:text-is("shipped")`, {
        timeout: WAIT,
      });
    }

    await detail.getByTestId('order-detail-close').click();
    const deadline = Date.now() + WAIT;
    while (sse.topicCount() !== 0) {
      if (Date.now() > deadline) throw new Error(`${sse.topicCount()} topics still live`);
      await sleep(20);
    }
    await expectStreams(user, 1);
  }, 60_000);
});
