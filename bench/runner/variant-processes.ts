import { fileURLToPath } from 'node:url';

import { type Child, spawnChild } from '../shared/ipc.js';
import type { Variant } from '../shared/protocol.js';
import { stopProcesses } from './phases.js';
import { type ServerGroup, startServers, STARTUP_TIMEOUT_MS } from './server-group.js';
import type { BenchSettings } from './settings.js';

/** Compiled entry point of the load generator, beside this one in dist-bench/. */
const LOAD_ENTRY = fileURLToPath(new URL('../load/main.js', import.meta.url));

/**
 * Runs `body` on fresh processes for one variant: its server (or a cluster
 * variant's instances) and a load generator, each ready; then ends every one of
 * them, whether `body` finished or threw (the error goes on to the caller).
 */
export async function withVariantProcesses<T>(
  variant: Variant,
  settings: BenchSettings,
  body: (server: ServerGroup, load: Child) => Promise<T>,
): Promise<T> {
  let server: ServerGroup | undefined;
  let load: Child | undefined;
  try {
    server = await startServers(variant, settings);
    load = spawnChild('load generator', LOAD_ENTRY, []);
    await load.ready(STARTUP_TIMEOUT_MS);
    return await body(server, load);
  } finally {
    if (server) await stopProcesses(server, load);
  }
}
