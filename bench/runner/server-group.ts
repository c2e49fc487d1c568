import { fileURLToPath } from 'node:url';

import { type Child, spawnChild } from '../shared/ipc.js';
import {
  CLUSTER_VARIANTS,
  type CpuReport,
  type MemoryReport,
  type ServerCommand,
  type ServerReady,
  type Variant,
} from '../shared/protocol.js';
import { stopProcesses } from './phases.js';
import { type BenchRedis, startRedisServer } from './redis-server.js';
import type { BenchSettings } from './settings.js';

export const STARTUP_TIMEOUT_MS = 30_000;
const SERVER_ENTRY = fileURLToPath(new URL('../server/main.js', import.meta.url));

/** What the phases drive: one server process, or a variant's instances as one. */
export interface ServerHandle {
  request<T>(body: ServerCommand, timeoutMs: number): Promise<T>;
  stop(graceMs: number): Promise<void>;
}

/**
 * A variant's server processes: one, or a cluster variant's instances on the
 * private redis-server started for them. Sends go to the first instance only
 * (so with two, half the deliveries cross Redis to the other); memory, CPU and
 * open streams are the sums over all instances, so they read per stream as for one server.
 */
export class ServerGroup implements ServerHandle {
  constructor(
    private readonly instances: Child[],
    readonly ports: number[],
    readonly path: string,
    private readonly redis: BenchRedis | undefined,
  ) {}

  get size(): number {
    return this.instances.length;
  }

  async request<T>(body: ServerCommand, timeoutMs: number): Promise<T> {
    const all = <R>() => Promise.all(this.instances.map((i) => i.request<R>(body, timeoutMs)));
    switch (body.cmd) {
      case 'memory': {
        const reports = await all<MemoryReport>();
        return {
          heapUsed: sum(reports.map((r) => r.heapUsed)),
          rss: sum(reports.map((r) => r.rss)),
        } satisfies MemoryReport as T;
      }
      case 'cpu': {
        const reports = await all<CpuReport>();
        return {
          user: sum(reports.map((r) => r.user)),
          system: sum(reports.map((r) => r.system)),
        } satisfies CpuReport as T;
      }
      case 'count':
        return sum(await all<number>()) as T;
      case 'stop':
        await all();
        return null as T;
      default:
        return this.instances[0].request<T>(body, timeoutMs);
    }
  }

  async stop(graceMs: number): Promise<void> {
    await Promise.all(this.instances.map((i) => i.stop(graceMs)));
    await this.redis?.stop();
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Starts a variant's server processes (a cluster variant's redis-server first) and waits until each listens. */
export async function startServers(variant: Variant, settings: BenchSettings): Promise<ServerGroup> {
  const cluster = CLUSTER_VARIANTS[variant];
  const redis = cluster ? await startRedisServer() : undefined;
  const count = cluster?.instances ?? 1;
  const instances = Array.from({ length: count }, (_, i) =>
    spawnChild(count > 1 ? `${variant} server ${i + 1}` : `${variant} server`, SERVER_ENTRY, [variant], {
      env: { BENCH_SECRET: settings.secret, ...(redis ? { BENCH_REDIS_URL: redis.url } : {}) },
      execArgv: settings.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`] : [],
    }),
  );
  try {
    const ready = await Promise.all(instances.map((i) => i.ready<ServerReady>(STARTUP_TIMEOUT_MS)));
    return new ServerGroup(
      instances,
      ready.map((r) => r.port),
      ready[0].path,
      redis,
    );
  } catch (err) {
    await stopProcesses(new ServerGroup(instances, [], '', redis), undefined);
    throw err;
  }
}
