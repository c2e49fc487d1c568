import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';

import { SseService } from '@nest-sse/server';
import { Test } from '@nestjs/testing';

import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/config.js';
import { type RunningApp, signToken, startDemo, TEST_SECRET } from './support/demo-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { postJson, rawGet, sleep, StreamClient } from './support/sse-client.js';

describe.each(ADAPTERS)('on %s', (adapter) => {
  describe('demo app HTTP contract', () => {
    let server: RunningApp;
    const clients: StreamClient[] = [];
    beforeAll(async () => {
      server = await startDemo({ heartbeatMs: 0, shipDelayMs: 60_000 }, adapter);
    });
    afterEach(() => clients.splice(0).forEach((c) => c.close()));
    afterAll(() => server.close());

    async function devToken(userId: string, roles?: string[]): Promise<string> {
      const res = await postJson(`${server.baseUrl}/api/dev/token`, { userId, roles });
      expect(res.status).toBe(200);
      return res.json.token as string;
    }
    async function stream(token: string): Promise<StreamClient> {
      const client = new StreamClient(`${server.baseUrl}/api/events?token=${token}`);
      clients.push(client);
      await client.opened();
      return client;
    }

    it('does not announce its stack (no X-Powered-By) on pages, API answers or streams', async () => {
      const page = await fetch(`${server.baseUrl}/`);
      const api = await fetch(`${server.baseUrl}/api/orders`);
      const events = await rawGet(`${server.baseUrl}/api/events?token=${await devToken('carol')}`);
      expect([page.status, api.status, events.status]).toEqual([200, 401, 200]);
      expect(page.headers.get('x-powered-by')).toBeNull();
      expect(api.headers.get('x-powered-by')).toBeNull();
      expect(events.headers['x-powered-by']).toBeUndefined();
    });

    it('serves the dashboard at /', async () => {
      const res = await fetch(`${server.baseUrl}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      // The React dashboard's shell (src/public/index.html): the bundle does the rest.
      expect(await res.text()).toMatch(/<div id="root">[\s\S]*<script type="module" src="\/dashboard\.js"><\/script>/);
    });

    it("POST /api/orders: 201 with the order, and a notification with its id on all of the user's streams only", async () => {
      const alice = await devToken('alice');
      const bob = await devToken('bob');
      const [a1, a2, b] = [await stream(alice), await stream(alice), await stream(bob)];

      const res = await postJson(`${server.baseUrl}/api/orders`, { item: 'coffee', quantity: 2 }, alice);
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({ id: expect.any(String), item: 'coffee', quantity: 2 });

      for (const c of [a1, a2]) {
        await c.until(() => c.ofType('notification').length === 1, 5000, 'the order notification');
        expect(c.ofType('notification')[0].data).toMatchObject({ orderId: res.json.id });
      }
      await sleep(100);
      expect(b.events.filter((e) => JSON.stringify(e.data).includes(res.json.id))).toEqual([]);
    });

    it.each([
      [{ item: 'tea' }],
      [{ item: 'tea', quantity: 0 }],
      [{ item: 'tea', quantity: 1.5 }],
      [{ item: 'tea', quantity: '2' }],
      [{ item: '', quantity: 1 }],
      [{ quantity: 1 }],
      [[]],
    ])('POST /api/orders with an invalid body %j: 400', async (body) => {
      const res = await postJson(`${server.baseUrl}/api/orders`, body, await devToken('alice'));
      expect(res.status).toBe(400);
    });

    it('POST /api/orders without or with a bad token: 401', async () => {
      expect((await postJson(`${server.baseUrl}/api/orders`, { item: 'x', quantity: 1 })).status).toBe(401);
      expect((await postJson(`${server.baseUrl}/api/orders`, { item: 'x', quantity: 1 }, 'bad')).status).toBe(401);
      const foreign = signToken('alice', {}, {}, 'not-the-secret');
      expect((await postJson(`${server.baseUrl}/api/orders`, { item: 'x', quantity: 1 }, foreign)).status).toBe(401);
    });

    it('POST /api/announcements: 202 for an admin and an update on every stream; 403 otherwise', async () => {
      const admin = await devToken('root', ['admin']);
      const streams = [await stream(await devToken('u1')), await stream(await devToken('u2')), await stream(admin)];

      const denied = await postJson(`${server.baseUrl}/api/announcements`, { message: 'nope' }, await devToken('u1'));
      expect(denied.status).toBe(403);
      const res = await postJson(`${server.baseUrl}/api/announcements`, { message: 'Maintenance at 5' }, admin);
      expect(res.status).toBe(202);
      for (const c of streams) {
        await c.until(() => c.ofType('update').length === 1, 5000, 'the announcement');
        expect(c.ofType('update')[0].data).toMatchObject({ message: 'Maintenance at 5' });
      }
      expect(streams.every((c) => c.ofType('update').every((e) => (e.data as any).message !== 'nope'))).toBe(true);
    });

    it('accepts the documented token shape (HS256, sub, roles) on the stream', async () => {
      const res = await rawGet(`${server.baseUrl}/api/events?token=${signToken('zed', { roles: ['admin'] })}`);
      expect(res.status).toBe(200);
    });

    it('POST /api/dev/token validates its input', async () => {
      expect((await postJson(`${server.baseUrl}/api/dev/token`, {})).status).toBe(400);
      expect((await postJson(`${server.baseUrl}/api/dev/token`, { userId: 'a b' })).status).toBe(400);
      expect((await postJson(`${server.baseUrl}/api/dev/token`, { userId: 'a', roles: 'admin' })).status).toBe(400);
    });
  });

  describe('order topics: orders/<orderId> for its owner and admins', () => {
    let server: RunningApp;
    const clients: StreamClient[] = [];
    // Long enough to subscribe after placing an order, short enough to watch it ship.
    const SHIP_DELAY_MS = 1_000;
    beforeAll(async () => {
      server = await startDemo({ heartbeatMs: 0, shipDelayMs: SHIP_DELAY_MS }, adapter);
    });
    afterEach(() => clients.splice(0).forEach((c) => c.close()));
    afterAll(() => server.close());

    const streamUrl = (query: string) => `${server.baseUrl}/api/events?${query}`;
    async function stream(query: string, headers: Record<string, string> = {}): Promise<StreamClient> {
      const client = new StreamClient(streamUrl(query), ['order'], headers);
      clients.push(client);
      await client.opened();
      return client;
    }
    async function placeOrder(token: string): Promise<string> {
      const res = await postJson(`${server.baseUrl}/api/orders`, { item: 'kettle', quantity: 1 }, token);
      expect(res.status).toBe(201);
      return res.json.id as string;
    }
    const dataOf = (c: StreamClient, type: string) => c.ofType(type).map((e) => e.data as Record<string, unknown>);

    it("the owner subscribes with ?topic= and gets placed (replayed) and shipped (live) as `order` events with orderId; the owner's own pushes are unchanged", async () => {
      const owner = signToken('olga');
      const plain = await stream(`token=${owner}`);
      // A position from before the order, to resume the topic stream from.
      server.app.get(SseService).sendToUser('olga', { type: 'notification', data: { message: 'mark' } });
      await plain.until(() => plain.ofType('notification').length === 1, 5000, 'the mark');
      const mark = plain.events[0].lastEventId;

      const orderId = await placeOrder(owner);
      const topic = `orders/${orderId}`;
      const watcher = await stream(`token=${owner}&topic=${encodeURIComponent(topic)}`, { 'Last-Event-ID': mark });
      await watcher.until(() => watcher.ofType('order').length === 2, 5000, 'placed and shipped on the topic');

      expect(dataOf(watcher, 'order')).toEqual([
        expect.objectContaining({ kind: 'order.placed', orderId, status: 'placed', item: 'kettle', quantity: 1 }),
        expect.objectContaining({ kind: 'order.shipped', orderId, status: 'shipped', at: expect.any(String) }),
      ]);
      // The owner's pushes, as before topics (the stable contract), on both of the owner's streams.
      await plain.until(() => plain.ofType('update').length === 1, 5000, 'the shipped update');
      for (const c of [plain, watcher]) {
        expect(dataOf(c, 'notification').filter((d) => d.orderId === orderId)).toEqual([
          { kind: 'order.placed', orderId, item: 'kettle', quantity: 1, message: 'Order placed: 1 x kettle' },
        ]);
        expect(dataOf(c, 'update')).toEqual([
          {
            kind: 'order.shipped',
            orderId,
            status: 'shipped',
            shippedAt: expect.any(String),
            message: `Order ${orderId.slice(0, 8)} has shipped`,
          },
        ]);
      }
      // A stream that did not subscribe gets none of the topic's events.
      expect(plain.ofType('order')).toEqual([]);
    });

    it('another user (not an admin) gets 403 naming the refused topic, before any byte; so does a topic of no known order', async () => {
      const orderId = await placeOrder(signToken('olga'));
      const topic = `orders/${orderId}`;
      const unknown = 'orders/no-such-order';
      const res = await rawGet(streamUrl(`token=${signToken('bob')}&topic=${topic}&topic=${unknown}`));
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 403, topics: [topic, unknown] });
      expect(JSON.parse(res.body).message).toContain(topic);
      // The owner too is refused a topic of an order that is not theirs (or does not exist).
      expect((await rawGet(streamUrl(`token=${signToken('olga')}&topic=${topic}&topic=${unknown}`))).status).toBe(403);
      // And on the ticket route: no ticket for a topic the user may not see.
      const ticket = await postJson(streamUrl(`topic=${topic}`), {}, signToken('bob'));
      expect(ticket.status).toBe(403);
      expect(ticket.json).toMatchObject({ topics: [topic] });
    });

    // The token's `roles` reach the stream's user through jwt.rolesClaim (default `roles`).
    it("an admin may subscribe to any order's topic, and sees it ship", async () => {
      const orderId = await placeOrder(signToken('olga'));
      const query = `token=${signToken('root', { roles: ['admin'] })}&topic=orders/${orderId}`;
      const answer = await rawGet(streamUrl(query));
      expect([answer.status, answer.body.startsWith('{') ? answer.body : '']).toEqual([200, '']);
      const admin = await stream(query);
      await admin.until(() => admin.ofType('order').length === 1, 5000, 'the shipment on the topic');
      expect(dataOf(admin, 'order')).toEqual([expect.objectContaining({ kind: 'order.shipped', orderId })]);
      // Only the topic's event: nothing of olga's own pushes.
      expect(admin.events.filter((e) => JSON.stringify(e.data).includes(orderId))).toHaveLength(1);
    });

    it('the owner gets a ticket bound to the topic (POST ?topic=), and the stream it opens is subscribed', async () => {
      const owner = signToken('olga');
      const orderId = await placeOrder(owner);
      const issued = await postJson(streamUrl(`topic=orders/${orderId}`), {}, owner);
      expect(issued.status).toBe(200);
      const watcher = await stream(`ticket=${encodeURIComponent(issued.json.ticket as string)}`);
      await watcher.until(() => watcher.ofType('order').length === 1, 5000, 'the shipment on the topic');
      expect(dataOf(watcher, 'order')[0]).toMatchObject({ kind: 'order.shipped', orderId });
    });

    it.each([
      ['an empty segment', 'orders//x'],
      ['a space', 'orders/a%20b'],
      ['a leading slash', '%2Forders%2Fx'],
      ['a name over 200 characters', `orders/${'x'.repeat(200)}`],
    ])('a bad topic name (%s): 400', async (_, topic) => {
      const res = await rawGet(streamUrl(`token=${signToken('olga')}&topic=${topic}`));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 400, message: expect.any(String) });
    });
  });

  describe('orders kept per user (ORDERS_MAX_PER_USER)', () => {
    let server: RunningApp;
    const CAP = 5;
    beforeAll(async () => {
      server = await startDemo({ heartbeatMs: 0, shipDelayMs: 60_000 }, adapter, { ORDERS_MAX_PER_USER: String(CAP) });
    });
    afterAll(() => server.close());

    async function place(token: string, item: string): Promise<Record<string, unknown>> {
      const res = await postJson(`${server.baseUrl}/api/orders`, { item, quantity: 1 }, token);
      expect(res.status).toBe(201);
      return res.json as Record<string, unknown>;
    }
    async function list(token: string): Promise<Array<Record<string, unknown>>> {
      const res = await fetch(`${server.baseUrl}/api/orders`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return (await res.json()) as Array<Record<string, unknown>>;
    }

    it("placing the cap + 3 orders keeps the user's newest cap: GET /api/orders lists exactly them, oldest first; another user's listing is unaffected", async () => {
      const [ann, ben] = [signToken('cap-ann'), signToken('cap-ben')];
      const bens = [await place(ben, 'ben-0'), await place(ben, 'ben-1')];
      const anns = [];
      for (let n = 0; n < CAP + 3; n++) anns.push(await place(ann, `ann-${n}`));
      bens.push(await place(ben, 'ben-2'));
      expect(await list(ann)).toEqual(anns.slice(3));
      expect(await list(ben)).toEqual(bens);
    });

    it("a dropped order is no longer the user's: its topic is refused (403), a kept one's still allowed", async () => {
      const owner = signToken('cap-cy');
      const orders = [];
      for (let n = 0; n <= CAP; n++) orders.push(await place(owner, `cy-${n}`));
      const topicStatus = async (order: Record<string, unknown>) =>
        (await rawGet(`${server.baseUrl}/api/events?token=${owner}&topic=orders/${String(order.id)}`)).status;
      expect(await topicStatus(orders[0])).toBe(403);
      expect(await topicStatus(orders[1])).toBe(200);
    });

    it('ORDERS_MAX_PER_USER defaults to 1,000 and must be a positive integer', () => {
      expect(loadConfig({}).maxOrdersPerUser).toBe(1_000);
      expect(loadConfig({ ORDERS_MAX_PER_USER: '20' }).maxOrdersPerUser).toBe(20);
      for (const value of ['0', '-1', '1.5', 'many']) {
        expect(() => loadConfig({ ORDERS_MAX_PER_USER: value })).toThrow(/ORDERS_MAX_PER_USER must be/);
      }
    });
  });

  describe('the dev-token route, a development convenience', () => {
    const devTokenStatus = async (env: NodeJS.ProcessEnv) => {
      const server = await startDemo({ heartbeatMs: 0 }, adapter, env);
      try {
        return (await postJson(`${server.baseUrl}/api/dev/token`, { userId: 'a' })).status;
      } finally {
        await server.close();
      }
    };

    it('does not exist (404) with NODE_ENV=production, even with DEV_TOKENS=1', async () => {
      expect(await devTokenStatus({ NODE_ENV: 'production', DEV_TOKENS: '1' })).toBe(404);
    });

    it('does not exist (404) with a real JWT_SECRET unless DEV_TOKENS=1, whatever NODE_ENV says', async () => {
      for (const NODE_ENV of [undefined, 'prod', 'staging']) {
        expect(await devTokenStatus({ NODE_ENV, DEV_TOKENS: undefined })).toBe(404);
      }
      expect(await devTokenStatus({ DEV_TOKENS: '1' })).toBe(200);
    });

    it('exists with the generated development secret (the default npm start)', async () => {
      expect(await devTokenStatus({ JWT_SECRET: undefined, DEV_TOKENS: undefined })).toBe(200);
    });

    it('signs for at most one hour, whatever is asked', async () => {
      const server = await startDemo({ heartbeatMs: 0 }, adapter);
      try {
        const res = await postJson(`${server.baseUrl}/api/dev/token`, {
          userId: 'mallory',
          roles: ['admin'],
          expiresInSec: 315360000,
        });
        const { token } = res.json as { token: string };
        const { iat, exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
          iat: number;
          exp: number;
        };
        expect(exp - iat).toBe(3600);
      } finally {
        await server.close();
      }
    });

    it('answers no request a proxy forwarded: 404 with X-Forwarded-For, Forwarded or X-Real-IP, even from loopback', async () => {
      const server = await startDemo({ heartbeatMs: 0 }, adapter);
      try {
        const ask = (headers: Record<string, string>) =>
          fetch(`${server.baseUrl}/api/dev/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ userId: 'a' }),
          }).then((res) => res.status);
        expect(await ask({})).toBe(200);
        expect(await ask({ 'x-forwarded-for': '203.0.113.7' })).toBe(404);
        expect(await ask({ forwarded: 'for=203.0.113.7' })).toBe(404);
        expect(await ask({ 'x-real-ip': '203.0.113.7' })).toBe(404);
      } finally {
        await server.close();
      }
    });

    it('refuses a loopback request whose Host is not a loopback name (a tunnel that adds no forwarding header): 404, while localhost, *.localhost, 127.0.0.1 and [::1] are served', async () => {
      const server = await startDemo({ heartbeatMs: 0 }, adapter);
      try {
        const { port } = new URL(server.baseUrl);
        /** The route asked over loopback with exactly this Host header, as a tunnel's local end would send it. */
        const askAs = (host: string) =>
          new Promise<number>((resolve, reject) => {
            const body = JSON.stringify({ userId: 'a' });
            const req = http.request(
              `${server.baseUrl}/api/dev/token`,
              {
                method: 'POST',
                agent: false,
                headers: { host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
              },
              (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              },
            );
            req.on('error', reject);
            req.end(body);
          });
        for (const host of [
          `localhost:${port}`,
          'localhost',
          `LocalHost:${port}`,
          `127.0.0.1:${port}`,
          `[::1]:${port}`,
          `dashboard.localhost:${port}`,
        ]) {
          expect([host, await askAs(host)]).toEqual([host, 200]);
        }
        for (const host of [
          'example.com',
          `example.com:${port}`,
          'abc123.tunnel.example',
          `localhost.example.com:${port}`,
          `127.0.0.1.example.com`,
          `notlocalhost:${port}`,
          `[::2]:${port}`,
        ]) {
          expect([host, await askAs(host)]).toEqual([host, 404]);
        }
      } finally {
        await server.close();
      }
    });

    it('answers only clients on this machine: 404 from another address', async () => {
      const address = Object.values(os.networkInterfaces())
        .flat()
        .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
      if (!address) throw new Error('this test needs a non-loopback IPv4 address on this machine');
      const moduleRef = await Test.createTestingModule({
        imports: [AppModule.forRoot({ ...loadConfig({ JWT_SECRET: TEST_SECRET, DEV_TOKENS: '1' }), heartbeatMs: 0 })],
      }).compile();
      const app = createApp(moduleRef, { adapter, logger: false });
      await app.listen(0, address);
      try {
        const { port } = app.getHttpServer().address() as AddressInfo;
        const res = await postJson(`http://${address}:${port}/api/dev/token`, { userId: 'a' });
        expect(res.status).toBe(404);
      } finally {
        await app.close();
      }
    });
  });
});
