import { randomUUID } from 'node:crypto';

import type { Browser, Page } from 'playwright-core';

import { launchChromium } from './chromium.js';
import { type RunningFixture, signHs256, startFixture } from './packed-fixtures.js';
import { startRedisServer, type TestRedisServer } from './redis-server.js';

/**
 * What test/fixtures/first-day is checked for (an npm user's first day, done as the READMEs say): a job-progress
 * page in Chromium, on the app's own stream route with tickets, through the app's crash or
 * restart. Called by test/packages.e2e-spec.ts with the installed fixture's folder.
 */

const STEPS = 60;
const STEP_MS = 50;
/** The page's first open, a restart and the client's backoff (its delays grow to 2 s, 4 s, ...) on a loaded machine. */
const WAIT_MS = 30_000;

interface Deployment {
  redis: TestRedisServer;
  env: Record<string, string>;
  /** Runs the job (the instance a job was sent to: it keeps running while `web` is down). */
  worker: RunningFixture;
  /** Serves the page and its stream; restarted mid-job. */
  web: RunningFixture;
  browser: Browser;
}

async function deploy(dir: string, secret: string): Promise<Deployment> {
  const redis = await startRedisServer();
  // A prefix of this run's own (the fixture puts it before every key, the transport's included).
  const env = { REDIS_URL: redis.url, KEY_PREFIX: `first-day-${randomUUID()}:` };
  const started: Array<Promise<RunningFixture>> = [
    startFixture(dir, secret, { env }),
    startFixture(dir, secret, { env }),
  ];
  const settled = await Promise.allSettled([...started, launchChromium()]);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(
      // eslint-disable-next-line @typescript-eslint/await-thenable -- rejected entries map to undefined, which Promise.all takes as resolved
      settled.map((r) =>
        r.status === 'fulfilled' ? ('close' in r.value ? r.value.close() : r.value.stop()) : undefined,
      ),
    );
    await redis.dispose();
    throw failed.reason;
  }
  const [worker, web, browser] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    RunningFixture,
    RunningFixture,
    Browser,
  ];
  return { redis, env, worker, web, browser };
}

async function undeploy(d: Deployment): Promise<void> {
  await d.browser.close();
  await Promise.all([d.worker.stop(), d.web.stop()]);
  await d.redis.dispose();
}

/** A POST with the user's token, and a JSON body when given; resolves to the JSON answer, rejects on an error status. */
async function post(url: string, token: string, body?: object): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** The page's progress lines, in the order it received them. */
function progressLines(page: Page): Promise<string[]> {
  return page.locator('#progress li').allTextContents();
}

/** Everything the page and the server said, for a failure's message. */
async function describeState(d: Deployment, page: Page, requests: string[]): Promise<string> {
  const statuses = await page.locator('#statuses li').allTextContents();
  return [
    `progress: ${(await progressLines(page)).map((l) => l.split(' ').pop()).join(' ')}`,
    `statuses: ${statuses.join(', ')}`,
    `requests:\n  ${requests.join('\n  ')}`,
    `--- web ---\n${d.web.output()}`,
    `--- worker ---\n${d.worker.output()}`,
  ].join('\n');
}

/**
 * The user's job: created and run on the worker, followed in a page served by `web`, which goes
 * down (`how`) when a quarter of the steps are shown and comes back on the same port; the page
 * must end with every step exactly once, in order.
 */
export async function followJobThroughWebRestart(dir: string, secret: string, how: 'crash' | 'stop'): Promise<void> {
  const d = await deploy(dir, secret);
  const token = signHs256('alice', secret);
  // Every request the page makes: stream GETs and ticket POSTs (the token must be in none of their URLs).
  const requests: string[] = [];
  const pageErrors: string[] = [];
  const page = await d.browser.newPage();
  page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  try {
    const { id } = await post(`${d.worker.baseUrl}/jobs`, token, { steps: STEPS });
    await page.goto(`${d.web.baseUrl}/#user=alice&token=${token}&job=${id}`);
    await page.waitForSelector('#status[data-status="open"]', { timeout: WAIT_MS });
    await post(`${d.worker.baseUrl}/jobs/${id}/run`, token, { intervalMs: STEP_MS });

    await page.waitForFunction((n) => document.querySelectorAll('#progress li').length >= n, STEPS / 4, {
      timeout: WAIT_MS,
    });
    const beforeRestart = requests.length;
    await (how === 'crash' ? d.web.crash() : d.web.stop());
    d.web = await startFixture(dir, secret, { env: d.env, port: d.web.port });

    // The last step arrives (live, or replayed after the restart); then nothing is missing or twice.
    const last = `job.progress ${id} ${STEPS}/${STEPS}`;
    await page.waitForFunction(
      (text) => [...document.querySelectorAll('#progress li')].some((li) => li.textContent === text),
      last,
      {
        timeout: WAIT_MS,
      },
    );
    expect(await progressLines(page)).toEqual(
      Array.from({ length: STEPS }, (_, i) => `job.progress ${id} ${i + 1}/${STEPS}`),
    );

    // It went through a reconnect: a new ticket from the restarted server, and a stream that resumed.
    const statuses = await page.locator('#statuses li').allTextContents();
    expect(statuses).toEqual(expect.arrayContaining([expect.stringMatching(/^reconnecting /)]));
    expect(statuses.at(-1)).toBe('open opened');
    const streams = requests.filter((r) => r.startsWith(`GET ${d.web.baseUrl}/jobs/${id}/events?`));
    const resumed = requests.slice(beforeRestart).filter((r) => streams.includes(r));
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.at(-1)).toMatch(/[?&]ticket=[^&]+/);
    expect(resumed.at(-1)).toMatch(/[?&]lastEventId=[^&]+/);
    expect(requests.filter((r) => r.startsWith(`POST ${d.web.baseUrl}/api/events`)).length).toBeGreaterThanOrEqual(2);
    expect(requests.filter((r) => r.includes(token))).toEqual([]);
    expect(pageErrors).toEqual([]);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await describeState(d, page, requests).catch(() => '')}`);
  } finally {
    await undeploy(d);
  }
}

/**
 * The own route's refusals, before any byte: no credential (401), another user's ticket for the
 * job (the `jobs/:id` policy: 403 naming the topic), a ticket spent once already (401).
 */
export async function refuseOthersOnTheJobRoute(dir: string, secret: string): Promise<void> {
  const redis = await startRedisServer();
  const app = await startFixture(dir, secret, {
    env: { REDIS_URL: redis.url, KEY_PREFIX: `first-day-${randomUUID()}:` },
  });
  const ticketOf = async (userId: string) =>
    ((await post(`${app.baseUrl}/api/events`, signHs256(userId, secret))) as { ticket: string }).ticket;
  /** A GET of the stream: its status and JSON body, then it lets go. */
  const connect = async (url: string) => {
    const controller = new AbortController();
    const res = await fetch(url, { signal: controller.signal });
    const body = res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : undefined;
    controller.abort();
    return { status: res.status, body };
  };
  try {
    const { id } = await post(`${app.baseUrl}/jobs`, signHs256('alice', secret), { steps: 3 });
    const route = `${app.baseUrl}/jobs/${id}/events`;

    expect(await connect(route)).toMatchObject({ status: 401 });
    expect(await connect(`${route}?ticket=${await ticketOf('bob')}`)).toEqual({
      status: 403,
      body: expect.objectContaining({ statusCode: 403, topics: [`jobs/${id}`] }),
    });
    const ticket = await ticketOf('alice');
    expect(await connect(`${route}?ticket=${ticket}`)).toMatchObject({ status: 200 });
    expect(await connect(`${route}?ticket=${ticket}`)).toMatchObject({ status: 401 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- app ---\n${app.output()}`);
  } finally {
    await app.stop();
    await redis.dispose();
  }
}

/** How long a page that stopped is watched for another ticket request. */
const NO_MORE_REQUESTS_MS = 2000;

/**
 * A page whose token the server does not accept (signed with another key) stops, saying why,
 * rather than reconnecting forever: `unauthorized` with the server's reason, and no more requests.
 */
export async function stopThePageOnAWrongToken(dir: string, secret: string): Promise<void> {
  const redis = await startRedisServer();
  const app = await startFixture(dir, secret, {
    env: { REDIS_URL: redis.url, KEY_PREFIX: `first-day-${randomUUID()}:` },
  });
  const browser = await launchChromium();
  const tickets: string[] = [];
  try {
    const { id } = await post(`${app.baseUrl}/jobs`, signHs256('alice', secret), { steps: 3 });
    const page = await browser.newPage();
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().startsWith(`${app.baseUrl}/api/events`)) tickets.push(r.url());
    });
    await page.goto(`${app.baseUrl}/#user=alice&token=${signHs256('alice', 'another-key')}&job=${id}`);
    await page.waitForSelector('#status[data-status="unauthorized"]', { timeout: WAIT_MS });
    expect(await page.locator('#signed-out').getAttribute('data-reason')).toBe('invalid');
    const asked = tickets.length;
    // maxAuthFailures' default: three ticket requests, each refused.
    expect(asked).toBe(3);
    await page.waitForTimeout(NO_MORE_REQUESTS_MS);
    expect(tickets.length).toBe(asked);
    expect(await page.locator('#status').getAttribute('data-status')).toBe('unauthorized');
  } catch (err) {
    throw new Error(`${(err as Error).message}\nticket requests: ${tickets.length}\n--- app ---\n${app.output()}`);
  } finally {
    await browser.close();
    await app.stop();
    await redis.dispose();
  }
}
