import { now, sleep, yieldToIo } from '../shared/clock.js';
import { serveCommands } from '../shared/ipc.js';
import { padding, seededRandom, userId } from '../shared/payload.js';
import type { BenchPayload, CpuReport, MemoryReport, SendReport, ServerCommand, ServerReady, Variant } from '../shared/protocol.js';
import type { Publisher, ServerOptions } from './publisher.js';

/**
 * The server under test, one variant per process (`BENCH_SECRET=… node --expose-gc server/main.js <variant>`):
 * it starts the variant, then sends events and reports its memory on the runner's commands.
 */
const starters: Record<Variant, () => Promise<(o: ServerOptions) => Promise<Publisher>>> = {
  plain: async () => (await import('./plain.js')).startPlain,
  'nest-bare': async () => (await import('./nest-bare.js')).startNestBare,
  library: async () => (await import('./library.js')).startLibrary,
  fastify: async () => (await import('./fastify.js')).startFastify,
  'sse-route': async () => (await import('./own-route.js')).startSseRoute,
  'nest-sse': async () => (await import('./own-route.js')).startNestSse,
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

/** All events back to back, as an app announcing something would. */
function sendBroadcast(publisher: Publisher, count: number, bytes: number): SendReport {
  const p = padding(bytes);
  const startedAt = now();
  for (let s = 0; s < count; s++) {
    publisher.broadcast('update', { k: 'b', s, t: now(), p } satisfies BenchPayload);
  }
  return { sent: count, startedAt, endedAt: now(), capped: false };
}

/**
 * Events to users drawn by a seeded PRNG (the same sequence for every variant),
 * in batches with I/O in between. Stops early at the time cap, which only a
 * sender that costs O(connections) per event reaches; the report says so.
 */
async function sendTargeted(publisher: Publisher, options: Extract<ServerCommand, { cmd: 'targeted' }>): Promise<SendReport> {
  const p = padding(options.bytes);
  const random = seededRandom(options.seed);
  const perUser = new Array<number>(options.users).fill(0);
  const startedAt = now();
  let sent = 0;
  while (sent < options.count) {
    const end = Math.min(options.count, sent + options.batch);
    for (; sent < end; sent++) {
      const user = Math.floor(random() * options.users);
      publisher.sendToUser(userId(user), 'notification', { k: 't', s: perUser[user]++, t: now(), p } satisfies BenchPayload);
    }
    if (now() - startedAt > options.timeCapMs) break;
    await yieldToIo();
  }
  return { sent, perUser, startedAt, endedAt: now(), capped: sent < options.count };
}

async function main(): Promise<void> {
  const variant = process.argv[2] as Variant;
  const secret = process.env.BENCH_SECRET;
  if (!(variant in starters) || !secret) throw new Error('usage: BENCH_SECRET=... main.js plain|nest-bare|library|fastify|sse-route|nest-sse|naive');
  const publisher = await (await starters[variant]())({ secret });

  const handle = async (command: ServerCommand): Promise<unknown> => {
    switch (command.cmd) {
      case 'memory':
        return memory();
      case 'count':
        return publisher.connectionCount();
      case 'cpu': {
        // Every thread of the process (GC helpers included): the runner takes the difference across a storm.
        const { user, system } = process.cpuUsage();
        return { user, system } satisfies CpuReport;
      }
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
