/**
 * The React dashboard (src/dashboard/web, bundled by scripts/build-dashboard.mjs) in a real
 * headless Chromium (Debian's `chromium`, driven by playwright-core), against the demo app
 * listening on a loopback port. `.ci/run` installs chromium when it is missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { SseService } from '@nest-sse/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';

import { launchChromium } from './support/chromium.js';
import { type RunningApp, signToken, startDemo } from './support/demo-app.js';
import { postJson, sleep, StreamClient } from './support/sse-client.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const WAIT = 10_000;

/** The `sub` of a token (the test only reads it to pick sockets). */
function subOf(token: string): string {
  try {
    return (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub?: string }).sub ?? '';
  } catch {
    return '';
  }
}

/** A URL that carries a token in its query: the dashboard must never make one (it uses tickets). */
const TOKEN_IN_URL = /[?&]token=/;

interface ListedEvent {
  id: string;
  type: string;
  text: string;
}

describe('dashboard in headless Chromium', () => {
  let server: RunningApp;
  let sse: SseService;
  let browser: Browser;
  /** Sockets carrying /api/events responses, with their request URL: the "server side of the stream" a test can drop. */
  const streamSockets = new Map<Socket, string>();
  /** The user of each ticket the pages obtained (from the ticket POST's Authorization header). */
  const ticketUsers = new Map<string, string>();
  /** Every URL the pages requested (page, bundle, API, streams, their HEAD probes). */
  const pageRequestUrls: string[] = [];
  /** The user of a stream request: its ticket's (the dashboard's), or its `?token=`'s (a test's own client). */
  const userOf = (url: string): string => {
    const params = new URL(url, 'http://x').searchParams;
    const ticket = params.get('ticket');
    return ticket ? (ticketUsers.get(ticket) ?? '') : subOf(params.get('token') ?? '');
  };
  /** Every /api/events request the server received (method, url and Last-Event-ID header). */
  const streamRequests: Array<{ method?: string; url: string; lastEventIdHeader?: string }> = [];
  /** The streams the server was asked for since `from`: their query parameters (tickets are POSTs, probes HEADs). */
  const streamsSince = (from: number): URLSearchParams[] =>
    streamRequests
      .slice(from)
      .filter((r) => r.method === 'GET')
      .map((r) => new URL(r.url, server.baseUrl).searchParams);
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // The page is served from src/public: bundle the current sources (esbuild: well under a second).
    execFileSync(process.execPath, ['scripts/build-dashboard.mjs'], { cwd: ROOT, stdio: 'pipe' });

    server = await startDemo({ heartbeatMs: 0, shipDelayMs: 500 });
    sse = server.app.get(SseService);
    const http = server.app.getHttpServer() as Server;
    http.on('request', (req: IncomingMessage) => {
      if (!req.url?.startsWith('/api/events')) return;
      const header = req.headers['last-event-id'];
      streamRequests.push({
        method: req.method,
        url: req.url,
        lastEventIdHeader: typeof header === 'string' ? header : undefined,
      });
      const socket = req.socket;
      streamSockets.set(socket, req.url);
      socket.once('close', () => streamSockets.delete(socket));
    });

    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    expect(pageErrors.splice(0)).toEqual([]);
    // The dashboard models the recommended browser flow: tickets, so no token in any URL
    // (stream, HEAD probe or other); the `?token=` route stays for clients that need it.
    expect(pageRequestUrls.splice(0).filter((url) => TOKEN_IN_URL.test(url))).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openDashboard(query = '', baseUrl = server.baseUrl): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    context.on('request', (r) => pageRequestUrls.push(r.url()));
    context.on('response', async (r) => {
      const request = r.request();
      if (request.method() !== 'POST' || new URL(r.url()).pathname !== '/api/events' || !r.ok()) return;
      const { ticket } = (await r.json().catch(() => ({}))) as { ticket?: string };
      const token = /^Bearer (.+)$/.exec(request.headers().authorization ?? '')?.[1];
      if (ticket && token) ticketUsers.set(ticket, subOf(token));
    });
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${baseUrl}/${query}`);
    await page.getByTestId('connect').waitFor({ timeout: WAIT });
    return page;
  }

  async function connect(page: Page, userId: string, admin = false): Promise<void> {
    await page.getByTestId('user-id').fill(userId);
    await page.getByTestId('admin').setChecked(admin);
    await page.getByTestId('connect').click();
    await waitForStatus(page, 'open');
  }

  function waitForStatus(page: Page, status: string, timeout = WAIT): Promise<unknown> {
    return page.waitForFunction(
      (expected) => document.querySelector('[data-testid="status"]')?.textContent === expected,
      status,
      { timeout },
    );
  }

  function listedEvents(page: Page): Promise<ListedEvent[]> {
    return page.$$eval('[data-testid="event"]', (items) =>
      items.map((li) => ({
        id: (li as HTMLElement).dataset.eventId ?? '',
        type: (li as HTMLElement).dataset.eventType ?? '',
        text: li.textContent ?? '',
      })),
    );
  }

  /** Waits until an event whose text contains `text` is listed; returns every listed event. */
  async function waitForListed(page: Page, text: string, timeout = WAIT): Promise<ListedEvent[]> {
    await page.waitForFunction(
      (needle) =>
        [...document.querySelectorAll('[data-testid="event"]')].some((li) => li.textContent?.includes(needle)),
      text,
      { timeout },
    );
    return listedEvents(page);
  }

  function expectListedOnce(events: ListedEvent[], text: string, type = 'notification'): ListedEvent {
    const matching = events.filter((e) => e.type === type && e.text.includes(text));
    expect(matching).toHaveLength(1);
    return matching[0];
  }

  async function expectNoDuplicates(page: Page): Promise<void> {
    const ids = (await listedEvents(page)).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await page.getByTestId('duplicates').textContent()).toBe('0');
  }

  async function devToken(userId: string, roles: string[] = []): Promise<string> {
    const res = await postJson(`${server.baseUrl}/api/dev/token`, { userId, roles });
    return res.json.token as string;
  }

  it('serves the bundle at /dashboard.js as JavaScript, loaded by the page at /', async () => {
    const page = await fetch(`${server.baseUrl}/`);
    expect(await page.text()).toContain('<script type="module" src="/dashboard.js">');
    const res = await fetch(`${server.baseUrl}/dashboard.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await res.text()).length).toBeGreaterThan(10_000);
  });

  it('connects, places an order through the form and lists its notification; admins announce', async () => {
    const page = await openDashboard();
    expect(await page.getByTestId('status').textContent()).toBe('closed');
    await connect(page, 'alice', true);
    expect(sse.connectionCount('alice')).toBe(1);

    await page.getByTestId('order-item').fill('espresso');
    await page.getByTestId('order-quantity').fill('2');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/orders') && r.request().method() === 'POST'),
      page.getByTestId('order-submit').click(),
    ]);
    expect(response.status()).toBe(201);
    const order = (await response.json()) as { id: string };

    const events = await waitForListed(page, order.id);
    const listed = expectListedOnce(events, order.id);
    expect(listed.text).toContain('2 x espresso');
    // The simulated shipment (shipDelayMs 500) arrives as an update and marks the order shipped.
    await page.waitForSelector(`[data-order-id="${order.id}"] [data-testid="order-status"]:text-is("shipped")`, {
      timeout: WAIT,
    });

    await page.getByTestId('announce-message').fill('Maintenance at 5');
    await page.getByTestId('announce-submit').click();
    const withAnnouncement = await waitForListed(page, 'Maintenance at 5');
    expectListedOnce(withAnnouncement, 'Maintenance at 5', 'update');
    await expectNoDuplicates(page);
  });

  it('shows reconnecting when the server drops the stream, then recovered, with events published meanwhile listed once', async () => {
    const page = await openDashboard();
    await connect(page, 'bob');
    const before = sse.sendToUser('bob', { type: 'notification', data: { message: 'before the drop' } });
    expect(before).toBe(1);
    const beforeId = expectListedOnce(await waitForListed(page, 'before the drop'), 'before the drop').id;

    // Drop the server side of the stream, as a proxy or a network failure would.
    const bobs = [...streamSockets].filter(([, url]) => userOf(url) === 'bob').map(([socket]) => socket);
    expect(bobs).toHaveLength(1);
    const requestsBefore = streamRequests.length;
    // The reconnection asks for a new token (then a ticket): held until the test has published meanwhile.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/dev/token', async (route) => {
      await released;
      await route.continue();
    });
    for (const socket of bobs) socket.destroy();
    await waitForStatus(page, 'reconnecting');
    await page.getByTestId('reconnecting').waitFor({ timeout: WAIT });
    expect(await page.locator('[data-testid="activity"] [data-kind="lost"]').count()).toBe(1);

    // Published while the page waits for its new token: no open stream.
    expect(sse.connectionCount('bob')).toBe(0);
    expect(sse.sendToUser('bob', { type: 'notification', data: { message: 'missed while away' } })).toBe(0);
    const placed = await postJson(`${server.baseUrl}/api/orders`, { item: 'tea', quantity: 3 }, await devToken('bob'));
    expect(placed.status).toBe(201);
    release();

    await waitForStatus(page, 'open', 15_000);
    await page.getByTestId('recovered').waitFor({ timeout: WAIT });
    // The client resumed on a new ticket with ?lastEventId= (the browser's own reconnect, with
    // Last-Event-ID, would present the spent ticket): the server replayed what was missed.
    const resumed = streamRequests.slice(requestsBefore).filter((r) => r.method === 'GET');
    expect(resumed.map((r) => r.lastEventIdHeader)).toEqual([undefined]);
    expect(streamsSince(requestsBefore).map((params) => params.get('lastEventId'))).toEqual([beforeId]);

    await waitForListed(page, placed.json.id);
    await page.waitForSelector(`[data-order-id="${placed.json.id}"] [data-testid="order-status"]:text-is("shipped")`, {
      timeout: WAIT,
    });
    expect(sse.sendToUser('bob', { type: 'notification', data: { message: 'live again' } })).toBe(1);
    const events = await waitForListed(page, 'live again');
    expectListedOnce(events, placed.json.id, 'update'); // shipped

    const missed = expectListedOnce(events, 'missed while away');
    const order = expectListedOnce(events, placed.json.id);
    expectListedOnce(events, 'before the drop');
    expectListedOnce(events, 'live again');
    // Newest first: the replayed events sit between the old one and the live one, in order.
    const position = (id: string) => events.findIndex((e) => e.id === id);
    expect(position(order.id)).toBeLessThan(position(missed.id));
    expect(position(missed.id)).toBeLessThan(position(beforeId));
    await expectNoDuplicates(page);
    expect(await page.getByTestId('recovered').getAttribute('data-recoveries')).toBe('1');

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}dashboard.png`, fullPage: true });
  });

  it('renews an expired token for the next ticket through getTicket() and resumes without loss or repeats (?ttl=3)', async () => {
    const page = await openDashboard('?ttl=3');
    // Count the dev-token requests, and hold the renewal (the first one once the stream is open)
    // until the test has published meanwhile.
    let tokenRequests = 0;
    let streamOpen = false;
    let renewalRequested!: () => void;
    const renewal = new Promise<void>((resolve) => (renewalRequested = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/dev/token', async (route) => {
      tokenRequests += 1;
      if (streamOpen) {
        renewalRequested();
        await released;
      }
      await route.continue();
    });
    /** The token of each ticket request (its Authorization header: never in a URL). */
    const ticketTokens: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/events')
        ticketTokens.push(r.headers().authorization ?? '');
    });
    const requestsBefore = streamRequests.length;
    await connect(page, 'carol');
    streamOpen = true;
    // The stream's token, and the orders list's when it asked first (the shared stream's leader
    // is elected a moment later, so the two requests do not always overlap).
    const tokensAtOpen = tokenRequests;
    expect([1, 2]).toContain(tokensAtOpen);

    // Nothing is published before the 3 s token runs out: the server sends auth-expired, which
    // carries the stream's position, and ends the stream (a ticket's stream ends at its token's exp);
    // the page's getTicket() asks for a new token, then a ticket with it.
    await renewal;
    await page.locator('[data-testid="activity"] [data-kind="auth-expired"]').first().waitFor({ timeout: WAIT });
    expect(await page.getByTestId('status').textContent()).toBe('reconnecting');
    const position = await page.getByTestId('last-event-id').textContent();
    expect(position).toMatch(/^\d+-\d+$/);
    expect(sse.connectionCount('carol')).toBe(0);
    expect(sse.sendToUser('carol', { type: 'notification', data: { message: 'during renewal' } })).toBe(0);
    release();

    await waitForStatus(page, 'open');
    await page.getByTestId('recovered').waitFor({ timeout: WAIT });
    expect(await page.getByTestId('tokens').textContent()).toBe(String(tokensAtOpen + 1));

    // A new EventSource on a new ticket, asked with the new token, resuming from the stream's position (?lastEventId=).
    const urls = streamsSince(requestsBefore);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    expect(urls[0].get('ticket')).toBeTruthy();
    expect(urls[1].get('ticket')).toBeTruthy();
    expect(urls[1].get('ticket')).not.toBe(urls[0].get('ticket'));
    expect(urls[1].get('lastEventId')).toBe(position);
    expect(ticketTokens.length).toBeGreaterThanOrEqual(2);
    expect(ticketTokens[0]).toMatch(/^Bearer /);
    expect(ticketTokens[1]).toMatch(/^Bearer /);
    expect(ticketTokens[1]).not.toBe(ticketTokens[0]);

    await waitForListed(page, 'during renewal');
    sse.sendToUser('carol', { type: 'notification', data: { message: 'after renewal' } });
    const events = await waitForListed(page, 'after renewal');
    expectListedOnce(events, 'during renewal');
    expectListedOnce(events, 'after renewal');
    await expectNoDuplicates(page);
  });

  it('a token the server refuses signs the session out: the ticket requests\' 401s show "Signed out." with the reason, and no stream is asked', async () => {
    const page = await openDashboard();
    // Every dev token the page gets is signed with another secret: the server answers 401 invalid.
    await page.route('**/api/dev/token', (route) =>
      route.fulfill({
        status: 201,
        contentType: 'application/json',
        body: JSON.stringify({ token: signToken('gus', {}, {}, 'not-the-secret') }),
      }),
    );
    const requests: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/events') requests.push(r.method());
    });
    await page.getByTestId('user-id').fill('gus');
    await page.getByTestId('connect').click();
    await waitForStatus(page, 'unauthorized');
    const banner = page.getByTestId('unauthorized');
    expect(await banner.textContent()).toContain('Signed out.');
    expect(await banner.textContent()).toContain('(invalid)');
    // maxAuthFailures (3) ticket requests, each refused; no stream was opened with a token.
    expect(requests).toEqual(['POST', 'POST', 'POST']);
    expect(sse.connectionCount('gus')).toBe(0);
  });

  it('reloads the orders when the server cannot resume (reset)', async () => {
    const placed = await postJson(
      `${server.baseUrl}/api/orders`,
      { item: 'scone', quantity: 1 },
      await devToken('erin'),
    );
    const page = await openDashboard();
    // As if the page had been reloaded with an id from another server run.
    await page.evaluate(() => sessionStorage.setItem('nest-sse:lastEventId:erin', 'not-an-event-id'));
    let orderLoads = 0;
    page.on('request', (r) => {
      if (r.method() === 'GET' && r.url().endsWith('/api/orders')) orderLoads += 1;
    });
    await connect(page, 'erin');

    const reset = page.locator('[data-testid="activity"] [data-kind="reset"]');
    await reset.waitFor({ timeout: WAIT });
    expect(await reset.textContent()).toMatch(/Reset \(malformed-id\): reloaded 1 order\(s\)/);
    expect(orderLoads).toBe(2); // on connect, and again on reset
    await page.locator(`[data-order-id="${placed.json.id}"]`).waitFor({ timeout: WAIT });
  });

  it("the order detail view subscribes to orders/<id> and shows the order's shipment live", async () => {
    // A demo of its own whose orders ship after 3 s: time to open the detail before it happens.
    const slow = await startDemo({ heartbeatMs: 0, shipDelayMs: 3_000 });
    try {
      const slowSse = slow.app.get(SseService);
      /** Topics asked for: in the ticket request (POST), which binds them into the ticket; never on the stream's URL. */
      const topicRequests: string[] = [];
      const streamUrlTopics: string[] = [];
      (slow.app.getHttpServer() as Server).on('request', (req: IncomingMessage) => {
        const url = new URL(req.url ?? '/', slow.baseUrl);
        if (url.pathname !== '/api/events') return;
        (req.method === 'POST' ? topicRequests : streamUrlTopics).push(...url.searchParams.getAll('topic'));
      });
      const page = await openDashboard('', slow.baseUrl);
      await connect(page, 'fay');
      await page.getByTestId('order-item').fill('teapot');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/orders') && r.request().method() === 'POST'),
        page.getByTestId('order-submit').click(),
      ]);
      const order = (await response.json()) as { id: string };

      await page.locator(`[data-order-id="${order.id}"] [data-testid="order-watch"]`).click();
      const detail = page.locator(`[data-testid="order-detail"][data-order-id="${order.id}"]`);
      await detail.locator('[data-testid="order-detail-status"]:text-is("open")').waitFor({ timeout: WAIT });
      // The detail's client shares the session's stream: the leader reconnects it with the
      // order's topic added (resuming after its last id), so fay still has one stream.
      expect(topicRequests).toEqual([`orders/${order.id}`]);
      expect(streamUrlTopics).toEqual([]);
      expect(slowSse.connectionCount('fay')).toBe(1);
      expect(slowSse.topicCount()).toBe(1);
      // The shared stream resumed from its last id with the topic added, so the detail may also
      // list the order's placed event, published just after that id; never the shipment yet.
      const listedKinds = () =>
        detail
          .locator('[data-testid="order-detail-event"]')
          .evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.kind));
      expect((await listedKinds()).filter((kind) => kind !== 'order.placed')).toEqual([]);

      const shipped = detail.locator('[data-testid="order-detail-event"][data-kind="order.shipped"]');
      await shipped.waitFor({ timeout: WAIT });
      expect(await shipped.textContent()).toContain(order.id);
      const kinds = await listedKinds();
      expect(kinds.filter((kind) => kind === 'order.shipped')).toHaveLength(1);
      expect(kinds.filter((kind) => kind === 'order.placed').length).toBeLessThanOrEqual(1);

      // Closing the detail drops the topic: the leader reconnects without it, and the topic is gone with its last subscriber.
      await detail.getByTestId('order-detail-close').click();
      const deadline = Date.now() + WAIT;
      while (slowSse.topicCount() !== 0 || slowSse.connectionCount('fay') !== 1) {
        if (Date.now() > deadline)
          throw new Error(`topics ${slowSse.topicCount()}, fay's streams ${slowSse.connectionCount('fay')}`);
        await sleep(20);
      }
    } finally {
      await Promise.all(contexts.splice(0).map((c) => c.close()));
      await slow.close();
    }
  });

  it('the admin view shows open streams and users live from admin/stats, and changes without a reload when a stream opens and closes', async () => {
    const page = await openDashboard();
    await connect(page, 'root', true);
    // Only admins are offered the view; it opens its stream when asked.
    await page.getByTestId('admin-watch').click();
    await page.getByTestId('admin-open-streams').waitFor({ timeout: WAIT });
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    // Figures come every second: a change shows within two or three.
    const shownIs = (expected: number, timeout = 3_000) =>
      page.waitForFunction(
        (n) => Number(document.querySelector('[data-testid="admin-open-streams"]')?.textContent) === n,
        expected,
        { timeout },
      );
    // One stream: the view shares the session's (other tests' pages may still be closing theirs).
    await shownIs(1, WAIT);
    expect(sse.connectionCount()).toBe(1);
    expect(sse.topicCount()).toBe(1);

    const extra = new StreamClient(`${server.baseUrl}/api/events?token=${await devToken('watched-user')}`);
    try {
      await extra.opened();
      await shownIs(2);
      expect(Number(await page.getByTestId('admin-connected-users').textContent())).toBe(2);
    } finally {
      extra.close();
    }
    await shownIs(1);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(Number(await page.getByTestId('admin-stats').getAttribute('data-updates'))).toBeGreaterThanOrEqual(3);

    // Stop drops the topic from the shared stream: the server stops publishing the figures.
    await page.getByTestId('admin-watch').click();
    const deadline = Date.now() + WAIT;
    while (sse.topicCount() !== 0 || sse.connectionCount('root') !== 1) {
      if (Date.now() > deadline)
        throw new Error(`root has ${sse.connectionCount('root')} streams, ${sse.topicCount()} topics`);
      await sleep(20);
    }
  });

  it('a session without admin shows no admin view', async () => {
    const page = await openDashboard();
    await connect(page, 'erin');
    expect(await page.getByTestId('admin-panel').count()).toBe(0);
  });

  it('Disconnect unmounts the stream component: the server connection count drops to 0', async () => {
    const page = await openDashboard();
    await connect(page, 'dave');
    expect(sse.connectionCount('dave')).toBe(1);

    await page.getByTestId('disconnect').click();
    expect(await page.getByTestId('status').textContent()).toBe('closed');
    const deadline = Date.now() + WAIT;
    while (sse.connectionCount('dave') !== 0) {
      if (Date.now() > deadline) throw new Error(`dave still has ${sse.connectionCount('dave')} stream(s) open`);
      await sleep(20);
    }
    // Closed for good: the EventSource does not come back by itself.
    await sleep(1_000);
    expect(sse.connectionCount('dave')).toBe(0);
    await page.getByTestId('idle').waitFor();
  });
});
