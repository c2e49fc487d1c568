import { CLUSTER_VARIANTS, TOPIC_VARIANTS, type Variant, VARIANTS } from '../shared/protocol.js';

/** Everything a run can be tuned with, read once from the environment. */
export interface BenchSettings {
  sizes: number[];
  variants: Variant[];
  broadcastEvents: number;
  eventBytes: number;
  targetedEvents: number;
  /** Targeted events sent per macrotask, so sockets are flushed between batches. */
  targetedBatch: number;
  /** Longest a sender may spend on the targeted phase (the naive pattern needs it). */
  targetedTimeCapMs: number;
  /** Rounds of each timed phase (broadcast, targeted); the median is reported. */
  repeats: number;
  connectConcurrency: number;
  phaseTimeoutMs: number;
  /** The whole run ends by itself after this. */
  runTimeoutMs: number;
  seed: number;
  secret: string;
  /** Variants that also get targeted rounds at a steady rate, for latency (by default the cluster variants and their baselines). */
  pacedVariants: Variant[];
  /** Events per second of those rounds (the cluster's p99 target is judged at 5,000). */
  pacedRate: number;
  /** Events per paced round (at `pacedRate`, 15,000 take 3 s). */
  pacedEvents: number;
  /** Variants put through the topic phase (each on a fresh server); empty with `BENCH_TOPIC_VARIANTS=none`. */
  topicVariants: Variant[];
  /** Events published back to back to the one topic every stream is in. */
  topicEvents: number;
  /** Events published to topics drawn at random among the many topics, batched like the targeted ones. */
  topicPublishes: number;
  /** Streams per topic among the many topics (N / this topics). */
  topicSubscribers: number;
  /** Variants put through the reconnect storms (each on a fresh server); empty with `BENCH_STORM_VARIANTS=none`. */
  stormVariants: Variant[];
  /** A storm ends by itself after this; streams not open by then count as failed. */
  stormCapMs: number;
  /** Delay before a failed connect is tried again (EventSource's default `retry`, and the module's `retryMs`). */
  stormRetryMs: number;
  /** Window the jittered storm spreads its connects over (the module's `retryJitterMs`). */
  stormJitterMs: number;
  /** Width of the connects-over-time buckets. */
  stormBucketMs: number;
  /** Where the servers write V8 CPU profiles (`BENCH_PROFILE_DIR`), to see where their time goes. */
  profileDir?: string;
}

function list(raw: string | undefined, fallback: string): string[] {
  return (raw || fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return value;
}

function variantList(name: string, raw: string | undefined, fallback: string): Variant[] {
  const variants = list(raw, fallback).map((v) => {
    if (!VARIANTS.includes(v as Variant)) throw new Error(`${name}: '${v}' is not one of ${VARIANTS.join(', ')}`);
    return v as Variant;
  });
  // The limit runs first, so every other variant has something to be compared with.
  return variants.sort((a, b) => VARIANTS.indexOf(a) - VARIANTS.indexOf(b));
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const sizes = list(env.BENCH_N, '1000,10000').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_N: '${s}' is not a positive integer`);
    return n;
  });
  const variants = variantList('BENCH_VARIANTS', env.BENCH_VARIANTS, VARIANTS.join(','));
  // A storm opens every stream on one server; the cluster variants are left out.
  const stormVariants =
    env.BENCH_STORM_VARIANTS?.trim() === 'none'
      ? []
      : env.BENCH_STORM_VARIANTS
        ? variantList('BENCH_STORM_VARIANTS', env.BENCH_STORM_VARIANTS, '').map((v) => {
            if (CLUSTER_VARIANTS[v])
              throw new Error(`BENCH_STORM_VARIANTS: '${v}' runs several instances, storms take one server`);
            return v;
          })
        : variants.filter((v) => !CLUSTER_VARIANTS[v]);
  // The cluster variants are judged on latency at a steady rate, against their baselines measured the same way.
  const pacedVariants =
    env.BENCH_PACED_VARIANTS?.trim() === 'none'
      ? []
      : env.BENCH_PACED_VARIANTS
        ? variantList('BENCH_PACED_VARIANTS', env.BENCH_PACED_VARIANTS, '')
        : variants.filter((v) => CLUSTER_VARIANTS[v] || variants.some((c) => CLUSTER_VARIANTS[c]?.baseline === v));
  // Only variants whose route takes ?topic= can be put through the topic phase.
  const topicVariants =
    env.BENCH_TOPIC_VARIANTS?.trim() === 'none'
      ? []
      : env.BENCH_TOPIC_VARIANTS
        ? variantList('BENCH_TOPIC_VARIANTS', env.BENCH_TOPIC_VARIANTS, '').map((v) => {
            if (!TOPIC_VARIANTS.includes(v))
              throw new Error(`BENCH_TOPIC_VARIANTS: '${v}' takes no topics (only ${TOPIC_VARIANTS.join(', ')})`);
            return v;
          })
        : variants.filter((v) => TOPIC_VARIANTS.includes(v));
  return {
    sizes,
    variants,
    broadcastEvents: int(env, 'BENCH_BROADCAST_EVENTS', 20),
    eventBytes: int(env, 'BENCH_EVENT_BYTES', 200),
    targetedEvents: int(env, 'BENCH_TARGETED_EVENTS', 20_000),
    targetedBatch: int(env, 'BENCH_TARGETED_BATCH', 1_000),
    targetedTimeCapMs: int(env, 'BENCH_TARGETED_CAP_MS', 20_000),
    repeats: int(env, 'BENCH_REPEAT', 3),
    connectConcurrency: int(env, 'BENCH_CONCURRENCY', 200),
    phaseTimeoutMs: int(env, 'BENCH_PHASE_TIMEOUT_MS', 60_000),
    // The storms add up to two minutes per variant at worst (two capped storms); the topic phase under a minute.
    runTimeoutMs: int(env, 'BENCH_RUN_TIMEOUT_MS', 40 * 60_000),
    seed: int(env, 'BENCH_SEED', 42),
    secret: 'nest-sse-bench-secret-0123456789abcdef',
    pacedVariants,
    pacedRate: int(env, 'BENCH_PACED_RATE', 5_000),
    pacedEvents: int(env, 'BENCH_PACED_EVENTS', 15_000),
    topicVariants,
    topicEvents: int(env, 'BENCH_TOPIC_EVENTS', 20),
    topicPublishes: int(env, 'BENCH_TOPIC_PUBLISHES', 20_000),
    topicSubscribers: int(env, 'BENCH_TOPIC_SUBSCRIBERS', 10),
    stormVariants,
    stormCapMs: int(env, 'BENCH_STORM_CAP_MS', 60_000),
    stormRetryMs: int(env, 'BENCH_STORM_RETRY_MS', 3_000),
    stormJitterMs: int(env, 'BENCH_STORM_JITTER_MS', 3_000),
    stormBucketMs: int(env, 'BENCH_STORM_BUCKET_MS', 500),
    profileDir: env.BENCH_PROFILE_DIR || undefined,
  };
}
