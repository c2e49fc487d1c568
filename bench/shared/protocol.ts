/** Messages exchanged over IPC between the runner and its child processes. */

export type Variant =
  'plain' | 'nest-bare' | 'library' | 'fastify' | 'fastify-metrics' | 'sse-route' | 'nest-sse' | 'naive' | 'redis-2';
export const VARIANTS: readonly Variant[] = [
  'plain',
  'nest-bare',
  'library',
  'fastify',
  'fastify-metrics',
  'sse-route',
  'nest-sse',
  'naive',
  'redis-2',
];
/**
 * Variants that are another variant with metrics on (`@nest-sse/server/metrics`, scraped every
 * second), judged against it without (the target: metrics cost under 5% of fan-out time).
 */
export const METRICS_VARIANTS: Readonly<Partial<Record<Variant, Variant>>> = { 'fastify-metrics': 'fastify' };
/**
 * Variants that run as several server processes on one private `redis-server`:
 * each instance count, and the memory-transport variant they are judged against.
 */
export const CLUSTER_VARIANTS: Readonly<Partial<Record<Variant, { instances: number; baseline: Variant }>>> = {
  'redis-2': { instances: 2, baseline: 'fastify' },
};
/** The variants whose route takes `?topic=` (the module's own route, and plain's counterpart of it). */
export const TOPIC_VARIANTS: readonly Variant[] = ['plain', 'library', 'fastify'];

/** What the servers put in every event's JSON data, so the client can check and time it. */
export interface BenchPayload {
  /**
   * Phase: `b` broadcast, `t` targeted, `p` targeted at a steady rate, `o` one topic
   * every stream is in, `m` many topics of a few streams each.
   */
  k: 'b' | 't' | 'p' | 'o' | 'm';
  /** Sequence number per recipient within the phase, from 0. */
  s: number;
  /** Send time, from `now()`. */
  t: number;
  /** Padding up to the requested size. */
  p: string;
}

export type ServerCommand =
  | { cmd: 'memory' }
  | { cmd: 'count' }
  | { cmd: 'cpu' }
  | { cmd: 'broadcast'; count: number; bytes: number }
  | { cmd: 'targeted'; count: number; users: number; bytes: number; batch: number; timeCapMs: number; seed: number }
  /** Events to users drawn as `targeted`, at a steady `rate` per second rather than as fast as possible. */
  | { cmd: 'paced'; count: number; users: number; bytes: number; rate: number; seed: number }
  /** Events back to back to one topic, as `broadcast` does to everyone. */
  | { cmd: 'publishOne'; topic: string; count: number; bytes: number }
  /** Events to topics `topicName(0..topics-1)` drawn by a seeded PRNG, batched as `targeted`. */
  | { cmd: 'publishMany'; count: number; topics: number; bytes: number; batch: number; timeCapMs: number; seed: number }
  | { cmd: 'stop' };

export interface ServerReady {
  port: number;
  path: string;
}

export interface MemoryReport {
  heapUsed: number;
  rss: number;
}

/** `process.cpuUsage()` of the server process, in µs. */
export interface CpuReport {
  user: number;
  system: number;
}

export interface SendReport {
  sent: number;
  /** Events addressed to each user `u<i>`, by i (broadcast: all equal to `sent`). */
  perUser?: number[];
  /** Events published to each topic `topicName(i)`, by i (`publishMany`). */
  perTopic?: number[];
  startedAt: number;
  endedAt: number;
  /** True when the time cap stopped the sender before `count`. */
  capped: boolean;
}

export type LoadCommand =
  | {
      cmd: 'connect';
      port: number;
      /** Several instances: stream i connects to `ports[i % ports.length]` (else to `port`). */
      ports?: number[];
      path: string;
      tokens: string[];
      /** Topics each stream subscribes to (`?topic=`, repeated), by stream. */
      topics?: string[][];
      concurrency: number;
      timeoutMs: number;
    }
  | StormCommand
  | { cmd: 'arm'; phase: BenchPayload['k'] }
  | { cmd: 'await'; expectedPerClient: number | number[]; timeoutMs: number }
  | { cmd: 'gc' }
  | { cmd: 'close' };

export interface ConnectReport {
  connected: number;
  failed: number;
  /** First few failure reasons, for the log. */
  errors: string[];
  elapsedMs: number;
  fdLimit: string;
}

/**
 * A reconnect storm: every stream opened at once (`jitterMs` 0), or each after its
 * own delay drawn uniformly from 0 to `jitterMs`, as a fleet told a jittered `retry:`
 * comes back. A stream that fails before its head is tried again after `retryMs`,
 * as EventSource does; the storm ends when all are open or at `capMs`.
 */
export interface StormCommand {
  cmd: 'storm';
  port: number;
  path: string;
  tokens: string[];
  jitterMs: number;
  /** Seeds the delays, so every variant gets the same ones. */
  seed: number;
  retryMs: number;
  capMs: number;
  bucketMs: number;
}

export interface StormReport {
  connected: number;
  /** Streams not open when the storm ended (at its cap). */
  failed: number;
  /** Attempts that failed before their head and were tried again. */
  retries: number;
  /** Streams that closed after they had opened, during the storm. */
  dropped: number;
  /** First few failure reasons, for the log. */
  errors: string[];
  /** From the first connect until the last stream's head arrived (or the cap, if some never did). */
  elapsedMs: number;
  /** How long the load generator took to start every connect (or set every delay): its own share of the wall time. */
  issuedMs: number;
  /** Each stream's time from its (first) attempt to its head, ms. */
  openP50: number;
  openP99: number;
  openMax: number;
  /** Streams opened in each `bucketMs` window from the start. */
  perBucket: number[];
  capped: boolean;
  fdLimit: string;
}

export interface PhaseReport {
  expected: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** Events whose sequence skipped ahead: a sign of loss mid-stream. */
  gaps: number;
  /** Events of another phase, or unparseable. */
  stray: number;
  /** Streams that closed during the phase. */
  closed: number;
  lastReceivedAt: number;
  latencyP50: number;
  latencyP99: number;
  latencyMax: number;
  timedOut: boolean;
}

export interface IpcRequest<T> {
  id: number;
  body: T;
}

export type IpcResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
