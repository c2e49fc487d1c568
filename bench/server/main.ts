import { sleep } from '../shared/clock.js';
import { serveCommands } from '../shared/ipc.js';
import type { MemoryReport, ServerCommand, ServerReady, Variant } from '../shared/protocol.js';
import { sendBroadcast, sendTargeted } from './driver.js';
import type { Publisher, ServerOptions } from './publisher.js';

/** One server variant per process: `BENCH_SECRET=… node --expose-gc server/main.js <variant>`. */
const starters: Record<Variant, () => Promise<(o: ServerOptions) => Promise<Publisher>>> = {
  plain: async () => (await import('./plain.js')).startPlain,
  library: async () => (await import('./library.js')).startLibrary,
  naive: async () => (await import('./naive.js')).startNaive,
};

async function memory(): Promise<MemoryReport> {
  if (!global.gc) throw new Error('start the server with --expose-gc');
  // Twice, with a pause: the first pass can leave work for finalizers and weak references.
  global.gc();
  await sleep(100);
  global.gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

async function main(): Promise<void> {
  const variant = process.argv[2] as Variant;
  const secret = process.env.BENCH_SECRET;
  if (!(variant in starters) || !secret) throw new Error('usage: BENCH_SECRET=... main.js plain|library|naive');
  const publisher = await (await starters[variant]())({ secret });

  const handle = async (command: ServerCommand): Promise<unknown> => {
    switch (command.cmd) {
      case 'memory':
        return memory();
      case 'count':
        return publisher.connectionCount();
      case 'broadcast':
        return sendBroadcast(publisher, command.count, command.bytes);
      case 'targeted':
        return sendTargeted(publisher, command);
      case 'stop':
        // Closing from the server side leaves TIME_WAIT here, not on the client's ports.
        await publisher.close();
        setImmediate(() => process.exit(0));
        return null;
    }
  };
  serveCommands(handle, { port: publisher.port, path: publisher.path } satisfies ServerReady);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
