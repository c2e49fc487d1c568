import { createSecretKey } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyUser } from './jwt.js';
import type { Publisher, ServerOptions } from './publisher.js';
import { listenOnLoopback } from './listen.js';

const PATH = '/api/events';

/**
 * The limit: bare `node:http`, users mapped to their open responses, each frame
 * serialised once and written to every socket it is for.
 */
export async function startPlain({ secret }: ServerOptions): Promise<Publisher> {
  const users = new Map<string, Set<ServerResponse>>();
  let connections = 0;
  let nextId = 1;
  const key = createSecretKey(Buffer.from(secret));

  const server = createServer({ noDelay: true }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== PATH) return void res.writeHead(404).end();
    const user = verifyUser(url.searchParams.get('token') ?? undefined, key);
    if (!user) return void res.writeHead(401).end();

    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write('id: \nretry: 3000\n: connected\n\n');
    let streams = users.get(user);
    if (!streams) users.set(user, (streams = new Set()));
    streams.add(res);
    connections++;
    res.once('close', () => {
      connections--;
      streams.delete(res);
      if (streams.size === 0) users.delete(user);
    });
  });
  await listenOnLoopback(server);

  const frame = (type: string, data: object) => `event: ${type}\nid: ${nextId++}\ndata: ${JSON.stringify(data)}\n\n`;
  return {
    port: (server.address() as AddressInfo).port,
    path: PATH,
    broadcast(type, data) {
      const text = frame(type, data);
      for (const streams of users.values()) for (const res of streams) res.write(text);
    },
    sendToUser(userId, type, data) {
      const streams = users.get(userId);
      if (!streams) return;
      const text = frame(type, data);
      for (const res of streams) res.write(text);
    },
    connectionCount: () => connections,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
