import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyUser } from './jwt.js';
import type { Publisher, ServerOptions } from './publisher.js';
import { listenOnLoopback } from './listen.js';
import { PlainStreams } from './plain-streams.js';

const PATH = '/api/events';

/** The limit: bare `node:http` serving `PlainStreams`. */
export async function startPlain({ secret }: ServerOptions): Promise<Publisher> {
  const streams = new PlainStreams();
  const key = createSecretKey(Buffer.from(secret));

  const server = createServer({ noDelay: true }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== PATH) return void res.writeHead(404).end();
    const user = verifyUser(url.searchParams.get('token') ?? undefined, key);
    if (!user) return void res.writeHead(401).end();
    streams.open(user, res);
  });
  await listenOnLoopback(server);

  return {
    port: (server.address() as AddressInfo).port,
    path: PATH,
    broadcast: (type, data) => streams.broadcast(type, data),
    sendToUser: (userId, type, data) => streams.sendToUser(userId, type, data),
    connectionCount: () => streams.connectionCount(),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
