import { SseService } from '@nest-sse/server';

import { signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { sleep, StreamClient, waitForCount } from './support/sse-client.js';

describe("the stream route takes Fastify's reply over", () => {
  const handlerTimeout = 300;

  it(`is not cut by Fastify's handlerTimeout (waits twice its ${handlerTimeout} ms)`, async () => {
    // Fastify ends a reply still unsent when handlerTimeout passes; a hijacked one is left to the stream.
    const server = await startLibrary(
      { heartbeatIntervalMs: 0 },
      {},
      { adapter: 'fastify', fastify: { handlerTimeout } },
    );
    const sse = server.app.get(SseService);
    const client = new StreamClient(`${server.baseUrl}/api/events?token=${signToken('patient')}`);
    try {
      await client.opened();
      await waitForCount(() => sse.connectionCount('patient'), 1);
      await sleep(2 * handlerTimeout);
      expect(sse.connectionCount('patient')).toBe(1);
      sse.sendToUser('patient', { type: 'update', data: 'still open' });
      await client.until(() => client.events.length === 1);
      expect(client.opens).toBe(1);
      expect(client.errors).toEqual([]);
    } finally {
      client.close();
      await server.close();
    }
  });
});
