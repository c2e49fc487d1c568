// The process itself (spawn, PING, kill) is the benchmark runner's: tests may import bench/ (tsconfig.json and jest
// compile it), while the bench build (rootDir bench) cannot import test/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BenchRedis, launchRedisServer } from '../../bench/runner/redis-server.js';
import { freePort } from './cluster-ports.js';

export { hasRedisServer } from '../../bench/runner/redis-server.js';

/**
 * What a test's redis-server keeps on disk, in a directory of its own:
 * - `none`: nothing (the default): a restart starts empty.
 * - `rdb`: a snapshot (`dump.rdb`) when the test says `SAVE`, and none on its own (`save ""`):
 *   a restart loads the last snapshot, so what was written after it is gone.
 * - `aof`: an append-only file synced on every write (`appendfsync always`): a restart loses nothing.
 */
export type RedisPersistence = 'none' | 'rdb' | 'aof';

/** A test's own redis-server: a loopback port of its own, stopped and started at will. */
export interface TestRedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly persistence: RedisPersistence;
  /** Where it keeps its files (`rdb` and `aof` only). */
  readonly dir?: string;
  /** Kills it (SIGKILL: nothing is saved on the way out). Resolves once it exited. */
  stop(): Promise<void>;
  /**
   * Starts it again on the same port (killing it first if it runs), from what it kept on disk:
   * empty (`none`), its last snapshot (`rdb`) or everything (`aof`). Resolves once it answers PING,
   * which is after it loaded its data.
   */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

/** Starts a redis-server on a free loopback port (kept across restarts); resolves once it answers PING. */
export async function startRedisServer({
  persistence = 'none',
}: { persistence?: RedisPersistence } = {}): Promise<TestRedisServer> {
  const port = await freePort();
  const dir = persistence === 'none' ? undefined : mkdtempSync(join(tmpdir(), `nest-sse-redis-${persistence}-`));
  const args =
    persistence === 'rdb'
      ? ['--dir', dir!, '--dbfilename', 'dump.rdb']
      : persistence === 'aof'
        ? ['--dir', dir!, '--appendonly', 'yes', '--appendfsync', 'always']
        : [];
  let running: Pick<BenchRedis, 'stop'> | undefined = await launchRedisServer(port, args);
  const stop = async () => {
    const stopping = running;
    running = undefined;
    await stopping?.stop();
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    persistence,
    dir,
    stop,
    restart: async () => {
      await stop();
      running = await launchRedisServer(port, args);
    },
    dispose: async () => {
      await stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
