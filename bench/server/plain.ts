import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyUser } from './jwt.js';
import type { Publisher, ServerOptions } from './publisher.js';
import { listenOnLoopback } from './listen.js';
import { PlainStreams } from './plain-streams.js';
import { checkPlainTopics } from './plain-topics.js';

const PATH = '/api/events';

/** The limit: bare `node:http` serving `PlainStreams`, with `?topic=` checked as the module's route checks it. */
export async function startPlain({ secret }: ServerOptions): Promise<Publisher> {
  const streams = new PlainStreams();
  const key = createSecretKey(Buffer.from(secret));

  const server = createServer({ noDelay: true }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== PATH) return void res.writeHead(404).end();
    const user = verifyUser(url.searchParams.get('token') ?? undefined, key);
    if (!user) return void res.writeHead(401).end();
    const topics = checkPlainTopics(user, url.searchParams.getAll('topic'));
    if (typeof topics === 'number') return void res.writeHead(topics).end();
    streams.open(user, res, topics);
  });
  await listenOnLoopback(server);

  return {
    port: (server.address() as AddressInfo).port,
    path: PATH,
    broadcast: (type, data) => streams.broadcast(type, data),
    sendToUser: (userId, type, data) => streams.sendToUser(userId, type, data),
    publish: (topic, type, data) => streams.publish(topic, type, data),
    connectionCount: () => streams.connectionCount(),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
