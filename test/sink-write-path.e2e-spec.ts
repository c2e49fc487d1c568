import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';

import { SseModule, SseService } from '@nest-sse/server';
import { type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { connectH2, H2Stream } from './support/h2-stream.client.js';
import { ADAPTERS, createApp, type ServeOptions } from './support/nest-app.factory.js';
import { sleep, StreamClient, waitForCount } from './support/sse-client.js';

/**
 * What went through `response.write` on its way out, seen by a middleware that wraps it
 * as compression or logging middleware would. The sink's direct path (HTTP/1.1 chunks
 * straight to the socket) bypasses it; the other paths write through the response.
 */
const throughResponse: string[] = [];

async function startWatched(serve: ServeOptions): Promise<RunningApp> {
  @Module({ imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 })] })
  class WatchedApp {}
  const moduleRef = await Test.createTestingModule({ imports: [WatchedApp] }).compile();
  const app: INestApplication = createApp(moduleRef, serve);
  app.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const write = res.write;
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      throughResponse.push(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ServerResponse['write'];
    next();
  });
  return listen(app);
}

describe.each(ADAPTERS)("the sink's write path on %s", (adapter) => {
  let server: RunningApp;
  let sse: SseService;
  beforeAll(async () => {
    server = await startWatched({ adapter });
    sse = server.app.get(SseService);
  });
  beforeEach(() => {
    throughResponse.length = 0;
  });
  afterAll(() => server.close());

  it('writes HTTP/1.1 streams straight to the socket, not through the response', async () => {
    const client = new StreamClient(`${server.baseUrl}/api/events?token=${signToken('h11')}`);
    try {
      await client.opened();
      await waitForCount(() => sse.connectionCount('h11'), 1);
      sse.sendToUser('h11', { type: 'update', data: 'marker-h11' });
      await client.until(() => client.events.length === 1);
      expect(client.events[0].data).toBe('marker-h11');
      expect(throughResponse.join('')).not.toContain('marker-h11');
    } finally {
      client.close();
    }
  });

  it('sends the head and the opening frame in one write to the kernel, not two', async () => {
    // Node's one entry to the kernel for a socket, whether a write or a writev.
    type WriteGeneric = (writev: boolean, data: unknown, ...rest: unknown[]) => unknown;
    const writes: string[] = [];
    const watch = (socket: net.Socket & { _writeGeneric: WriteGeneric }) => {
      const original = socket._writeGeneric;
      socket._writeGeneric = function (this: net.Socket, writev, data, ...rest) {
        const parts = writev
          ? (data as Array<{ chunk: Buffer | string }>).map((d) => d.chunk)
          : [data as Buffer | string];
        writes.push(parts.map((part) => part.toString()).join(''));
        return original.call(this, writev, data, ...rest);
      };
    };
    server.app.getHttpServer().once('connection', watch);
    const client = new StreamClient(`${server.baseUrl}/api/events?token=${signToken('one-write')}`);
    try {
      await client.opened();
      await waitForCount(() => sse.connectionCount('one-write'), 1);
      expect(writes).toHaveLength(1);
      expect(writes[0]).toMatch(
        /^HTTP\/1\.1 200 [\s\S]*\r\n\r\n[0-9a-f]+\r\nid: \S+\nretry: \d+\n: connected\n\n\r\n$/,
      );
    } finally {
      client.close();
    }
  });

  it('writes HTTP/1.0 streams (no chunked encoding) through the response', async () => {
    const socket = net.connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.write(`GET /api/events?token=${signToken('h10')} HTTP/1.0\r\n\r\n`);
    try {
      await waitForCount(() => sse.connectionCount('h10'), 1);
      sse.sendToUser('h10', { type: 'update', data: 'marker-h10' });
      const deadline = Date.now() + 3000;
      while (!text.includes('marker-h10') && Date.now() < deadline) await sleep(10);
      expect(text).toContain('data: "marker-h10"');
      expect(throughResponse.join('')).toContain('data: "marker-h10"');
    } finally {
      socket.destroy();
    }
  });
});

describe("the sink's write path over HTTP/2 (fastify, h2c)", () => {
  it('writes through the response: HTTP/2 has no chunked encoding', async () => {
    const server = await startWatched({ adapter: 'fastify', http2: true });
    const sse = server.app.get(SseService);
    const session = await connectH2(server.baseUrl);
    const stream = new H2Stream(session, `/api/events?token=${signToken('h2')}`);
    try {
      await waitForCount(() => sse.connectionCount('h2'), 1);
      sse.sendToUser('h2', { type: 'update', data: 'marker-h2' });
      await stream.until(() => stream.ofType('update').length === 1);
      expect(throughResponse.join('')).toContain('data: "marker-h2"');
    } finally {
      stream.close();
      session.close();
      await waitForCount(() => sse.connectionCount(), 0);
      await server.close();
    }
  });
});
