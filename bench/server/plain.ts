import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { verifyUser } from './jwt.js';
import { listenOnLoopback } from './listen.js';
import { PlainStreams } from './plain-streams.js';
import type { Publisher, ServerOptions } from './publisher.js';

const PATH = '/api/events';

/**
 * Plain's counterpart of what the module's route checks of `?topic=` on each
 * connect: the name rule and limits (`SSE_LIMITS`, restated: plain imports
 * nothing from the module, as it has its own token check and frames), then a
 * policy per topic. Plain finds a topic's policy by its first segment (a Map
 * lookup, where the module matches `@SseTopic()` patterns).
 */
const TOPIC_LENGTH = 200;
const TOPICS_PER_STREAM = 20;
const TOPIC_NAME = /^[A-Za-z0-9._~:@-]+(?:\/[A-Za-z0-9._~:@-]+)*$/;

/** The benchmark's one policy, as the module variants declare it with `@SseTopic('bench/:n')`: anyone may subscribe. */
const POLICIES = new Map<string, (user: string, rest: string) => boolean>([
  ['bench', (_user, rest) => !rest.includes('/')],
]);

/** The stream's topics without duplicates, or the status refusing the connect: 400 for a bad name or too many, 403 for a topic no policy allows. */
function checkPlainTopics(user: string, asked: readonly string[]): string[] | 400 | 403 {
  const topics = [...new Set(asked)];
  if (topics.length > TOPICS_PER_STREAM) return 400;
  for (const topic of topics) if (topic.length > TOPIC_LENGTH || !TOPIC_NAME.test(topic)) return 400;
  for (const topic of topics) {
    const slash = topic.indexOf('/');
    const policy = slash < 0 ? undefined : POLICIES.get(topic.slice(0, slash));
    if (!policy?.(user, topic.slice(slash + 1))) return 403;
  }
  return topics;
}

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
