// The process itself (spawn, PING, kill) is the benchmark runner's: tests may import bench/ (tsconfig.json and jest
// compile it), while the bench build (rootDir bench) cannot import test/.
import { type BenchRedis, launchRedisServer } from '../../bench/runner/redis-server.js';
import { freePort } from './cluster-ports.js';

export { hasRedisServer } from '../../bench/runner/redis-server.js';

/** A test's own redis-server: a loopback port of its own, no persistence, stopped and started at will. */
export interface TestRedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops it (its data is gone: it keeps none on disk). Resolves once it exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (stopping it first if it runs). Resolves once it answers PING. */
  restart(): Promise<void>;
}

/** Starts a redis-server on a free loopback port (kept across restarts); resolves once it answers PING. */
export async function startRedisServer(): Promise<TestRedisServer> {
  const port = await freePort();
  let running: Pick<BenchRedis, 'stop'> | undefined = await launchRedisServer(port);
  const stop = async () => {
    const stopping = running;
    running = undefined;
    await stopping?.stop();
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    restart: async () => {
      await stop();
      running = await launchRedisServer(port);
    },
  };
}
