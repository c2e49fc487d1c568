import type { Server } from 'node:http';

import type { AppConfig } from './config.js';

/**
 * How often Node checks its connections against the two timeouts (its default is
 * 30 s, which would let a request run up to 30 s past them). The check walks only
 * the connections still receiving a request: a second apart costs nothing.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * Bounds how long a client may take to send a request, so that a slow or stalled
 * one (a ticket `POST` whose body never comes) does not hold a socket for Node's
 * 300 s (Express) or forever (Fastify, which sets `requestTimeout` to 0). Node
 * applies both only while it is receiving a request: a stream's `GET` is received
 * whole with its head, so streams, however long they live, are not affected.
 *
 * Set before the server listens: Node reads the check interval when it starts listening.
 */
export function applyHttpTimeouts(
  server: Server,
  { httpRequestTimeoutMs, httpHeadersTimeoutMs }: Pick<AppConfig, 'httpRequestTimeoutMs' | 'httpHeadersTimeoutMs'>,
): void {
  server.requestTimeout = httpRequestTimeoutMs;
  server.headersTimeout = httpHeadersTimeoutMs;
  // A server option Node's types do not declare on the instance.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = TIMEOUT_CHECK_INTERVAL_MS;
}
