import { SseService } from '@nest-sse/server';

import { type RunningApp, signToken } from './demo-app.js';
import { StreamClient, waitForCount } from './sse-client.js';

/**
 * Opens a real EventSource for `userId` and resolves once it is open and the
 * server has registered it, so a send right after cannot race the connect.
 * The client goes into `clients` first, so the caller's cleanup closes it even
 * if opening fails.
 */
export async function connectUser(
  server: RunningApp,
  userId: string,
  clients: StreamClient[],
  { query = '', types = [] }: { query?: string; types?: string[] } = {},
): Promise<StreamClient> {
  const client = new StreamClient(`${server.baseUrl}/api/events?token=${signToken(userId)}${query}`, types);
  clients.push(client);
  await client.opened();
  await waitForCount(() => server.app.get(SseService).connectionCount(userId), 0, 1);
  return client;
}
