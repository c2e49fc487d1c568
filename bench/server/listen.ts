import type { Server } from 'node:net';

/**
 * Every variant listens with the demo's backlog (`LISTEN_BACKLOG`, 4,096): in a
 * storm, connects past Node's default of 511 would wait on SYN retries, and the
 * storm's wall time would measure that luck rather than each server's work.
 */
export const LISTEN_BACKLOG = 4096;

/** Listens on loopback, on a free port, with that backlog. */
export function listenOnLoopback(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject).listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, () => resolve());
  });
}

/** A Nest app on Express: Nest's `listen()` takes no backlog there, so the app is initialised and its server listens. */
export async function listenNest(app: { init(): Promise<unknown>; getHttpServer(): Server }): Promise<void> {
  await app.init();
  await listenOnLoopback(app.getHttpServer());
}
