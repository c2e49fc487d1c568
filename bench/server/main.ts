import { now, sleep, yieldToIo } from '../shared/clock.js';
import { serveCommands } from '../shared/ipc.js';
import { padding, seededRandom, topicName, userId } from '../shared/payload.js';
import {
  type BenchPayload,
  type CpuReport,
  type MemoryReport,
  type SendReport,
  type ServerCommand,
  type ServerReady,
  TOPIC_VARIANTS,
  type Variant,
} from '../shared/protocol.js';
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
  'fastify-metrics': async () => (await import('./fastify.js')).startFastifyWithMetrics,
  'sse-route': async () => (await import('./own-route.js')).startSseRoute,
  'nest-sse': async () => (await import('./own-route.js')).startNestSse,
  naive: async () => (await import('./naive.js')).startNaive,
  'redis-2': async () => (await import('./fastify.js')).startRedisInstance,
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

/** All events back to back, as an app announcing something would (to everyone, or to one topic's subscribers). */
function sendBurst(count: number, bytes: number, k: BenchPayload['k'], send: (data: BenchPayload) => void): SendReport {
  const p = padding(bytes);
  const startedAt = now();
  for (let s = 0; s < count; s++) send({ k, s, t: now(), p });
  return { sent: count, startedAt, endedAt: now(), capped: false };
}

/** How `sendDrawn` spaces its events: batches as fast as possible up to a time cap, or a steady rate. */
type Pace = { batch: number; timeCapMs: number } | { rate: number };

/**
 * Events to targets (users, or topics) drawn by a seeded PRNG (the same sequence
 * for every variant), each target's events with their own sequence.
 *
 * Batched: batches with I/O in between, stopping early at the time cap, which only
 * a sender that costs O(connections) per event reaches (the report says so).
 *
 * Paced: each tick sends what is due by now at `rate` per second, so every event is
 * stamped close to when a steady sender would have sent it, and the latency measured
 * is the path's, not a queue's behind a burst. A sender that falls behind sends what
 * is due at once (the report's times show the rate reached).
 */
async function sendDrawn(
  options: { count: number; bytes: number; seed: number } & Pace,
  targets: number,
  k: BenchPayload['k'],
  send: (target: number, data: BenchPayload) => void,
): Promise<{ sent: number; perTarget: number[]; startedAt: number; endedAt: number; capped: boolean }> {
  const p = padding(options.bytes);
  const random = seededRandom(options.seed);
  const perTarget = new Array<number>(targets).fill(0);
  const startedAt = now();
  let sent = 0;
  while (sent < options.count) {
    const due = 'rate' in options ? Math.floor(((now() - startedAt) * options.rate) / 1000) + 1 : sent + options.batch;
    for (const end = Math.min(options.count, due); sent < end; sent++) {
      const target = Math.floor(random() * targets);
      send(target, { k, s: perTarget[target]++, t: now(), p });
    }
    if ('rate' in options) {
      if (sent < options.count) await sleep(1);
    } else {
      if (now() - startedAt > options.timeCapMs) break;
      await yieldToIo();
    }
  }
  return { sent, perTarget, startedAt, endedAt: now(), capped: sent < options.count };
}

/** The variant's `publish`, or an error naming a variant whose route takes no topics. */
function publishOf(publisher: Publisher, variant: Variant): NonNullable<Publisher['publish']> {
  if (!publisher.publish) throw new Error(`${variant} has no topics (only ${TOPIC_VARIANTS.join(', ')})`);
  return publisher.publish.bind(publisher);
}

async function main(): Promise<void> {
  const variant = process.argv[2] as Variant;
  const secret = process.env.BENCH_SECRET;
  if (!(variant in starters) || !secret)
    throw new Error(`usage: BENCH_SECRET=... main.js ${Object.keys(starters).join('|')}`);
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
        return sendBurst(command.count, command.bytes, 'b', (data) => publisher.broadcast('update', data));
      case 'targeted': {
        const { perTarget, ...send } = await sendDrawn(command, command.users, 't', (user, data) =>
          publisher.sendToUser(userId(user), 'notification', data),
        );
        return { ...send, perUser: perTarget } satisfies SendReport;
      }
      case 'paced': {
        const { perTarget, ...send } = await sendDrawn(command, command.users, 'p', (user, data) =>
          publisher.sendToUser(userId(user), 'notification', data),
        );
        return { ...send, perUser: perTarget } satisfies SendReport;
      }
      case 'publishOne': {
        const publish = publishOf(publisher, variant);
        return sendBurst(command.count, command.bytes, 'o', (data) => publish(command.topic, 'update', data));
      }
      case 'publishMany': {
        const publish = publishOf(publisher, variant);
        const { perTarget, ...send } = await sendDrawn(command, command.topics, 'm', (topic, data) =>
          publish(topicName(topic), 'update', data),
        );
        return { ...send, perTopic: perTarget } satisfies SendReport;
      }
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
