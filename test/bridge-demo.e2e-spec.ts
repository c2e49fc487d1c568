import { jest } from '@jest/globals';
import { EventEmitter2 } from '@nestjs/event-emitter';

import { type RunningApp, signToken, startDemo } from './support/demo-app.js';
import { postJson, sleep, StreamClient } from './support/sse-client.js';
import { connectUser } from './support/streams.js';

/** The demo, over real sockets: orders and announcements reach streams through the event bridge. */
describe('demo on the event bridge', () => {
  let server: RunningApp | undefined;
  let clients: StreamClient[] = [];

  afterEach(async () => {
    clients.forEach((c) => c.close());
    clients = [];
    await server?.close();
    server = undefined;
    jest.restoreAllMocks();
  });

  async function start(shipDelayMs = 200): Promise<RunningApp> {
    server = await startDemo({ shipDelayMs, heartbeatMs: 0 });
    return server;
  }

  const connect = (userId: string) => connectUser(server!, userId, clients);

  it('pushes order.placed as a notification, then order.shipped as an update, to the ordering user only', async () => {
    await start(200);
    const alice = await connect('alice');
    const bob = await connect('bob');

    const placed = await postJson(`${server!.baseUrl}/api/orders`, { item: 'Widget', quantity: 3 }, signToken('alice'));
    expect(placed.status).toBe(201);
    expect(placed.json).toMatchObject({ id: expect.any(String), item: 'Widget', quantity: 3, status: 'placed' });
    const orderId = placed.json.id as string;

    await alice.until(() => alice.ofType('update').length > 0, 5000, "alice's update");
    expect(alice.ofType('notification').map((e) => e.data)).toEqual([
      { kind: 'order.placed', orderId, item: 'Widget', quantity: 3, message: 'Order placed: 3 x Widget' },
    ]);
    expect(alice.ofType('update').map((e) => e.data)).toEqual([
      expect.objectContaining({ kind: 'order.shipped', orderId, status: 'shipped', shippedAt: expect.any(String) }),
    ]);
    // Notification first, then the update.
    expect(alice.events.filter((e) => e.type !== 'heartbeat').map((e) => e.type)).toEqual(['notification', 'update']);

    await sleep(100);
    expect(bob.events).toEqual([]);

    const listed = await fetch(`${server!.baseUrl}/api/orders`, {
      headers: { authorization: `Bearer ${signToken('alice')}` },
    });
    expect(await listed.json()).toEqual([expect.objectContaining({ id: orderId, status: 'shipped' })]);
  });

  it('sends only the projection: the wire data has exactly the mapped fields', async () => {
    await start(60_000);
    const alice = await connect('alice');
    await postJson(`${server!.baseUrl}/api/orders`, { item: 'Gadget', quantity: 1 }, signToken('alice'));
    await alice.until(() => alice.ofType('notification').length > 0);
    expect(Object.keys(alice.ofType('notification')[0].data as object).sort()).toEqual(
      ['item', 'kind', 'message', 'orderId', 'quantity'].sort(),
    );
  });

  it('pushes an announcement as an update to every stream, through the mapped event class', async () => {
    await start();
    const alice = await connect('alice');
    const bob = await connect('bob');

    const res = await postJson(
      `${server!.baseUrl}/api/announcements`,
      { message: 'Maintenance at 5' },
      signToken('root', { roles: ['admin'] }),
    );
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: true });

    for (const client of [alice, bob]) {
      await client.until(() => client.ofType('update').length > 0);
      expect(client.ofType('update').map((e) => e.data)).toEqual([
        { kind: 'announcement', message: 'Maintenance at 5', from: 'root', at: expect.any(String) },
      ]);
    }

    const forbidden = await postJson(`${server!.baseUrl}/api/announcements`, { message: 'x' }, signToken('alice'));
    expect(forbidden.status).toBe(403);
  });

  it('cancels pending shipments on app.close(): no order.shipped after shutdown', async () => {
    await start(150);
    const emit = jest.spyOn(server!.app.get(EventEmitter2), 'emit');
    const placed = await postJson(`${server!.baseUrl}/api/orders`, { item: 'Late', quantity: 1 }, signToken('alice'));
    expect(placed.status).toBe(201);
    await server!.close();
    server = undefined;
    await sleep(300);
    expect(emit.mock.calls.map(([event]) => event)).toEqual(['order.placed']);
  });
});
