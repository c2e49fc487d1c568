import type { ConnectReport, MemoryReport, PhaseReport, SendReport, StormReport, Variant } from '../shared/protocol.js';
import type { ListenCounters } from './netstat.js';

export interface BroadcastRun {
  send: SendReport;
  phase: PhaseReport;
  /** From the first send until every client had every event. */
  fanOutMs: number;
  deliveriesPerSec: number;
}

export interface TargetedRun {
  send: Omit<SendReport, 'perUser'>;
  phase: PhaseReport;
  /** From the first send until the last event arrived. */
  elapsedMs: number;
  eventsPerSec: number;
}

export type StormMode = 'at-once' | 'jittered';

/** One reconnect storm, on a server of its own started for it. */
export interface StormRun {
  mode: StormMode;
  /** Width of the window the connects were spread over (0: all at once). */
  jitterMs: number;
  load?: StormReport;
  /** Server CPU (user + system) from just before the first connect until the last head arrived, µs. */
  serverCpuUs?: number;
  cpuPerConnectUs?: number;
  /** What the kernel counted during the storm (the difference of two reads). */
  listen?: ListenCounters;
  /** The busiest bucket, as connects per second. */
  peakConnectsPerSec?: number;
  /** Streams the server counted once the storm was over. */
  serverConnections?: number;
  error?: string;
}

/**
 * The topic phase, on a server of its own: every stream subscribed
 * at connect to the one topic all N are in, and to one of N / 10 topics.
 */
export interface TopicRun {
  /** Streams per topic among the many topics. */
  subscribers: number;
  topics: number;
  /** Opening all N streams, each with its two topics (authorised on connect). */
  connect?: ConnectReport;
  serverConnections?: number;
  /** Shape (a): events to the one topic, N deliveries each. */
  one?: Repeated<BroadcastRun>;
  /** Shape (b): events to topics drawn at random, `subscribers` deliveries each. */
  many?: Repeated<TargetedRun>;
  error?: string;
}

/** A timed phase run several times: the median run is what the table shows; losses are summed over all. */
export interface Repeated<T> {
  median: T;
  runs: T[];
  lost: number;
  duplicates: number;
}

/** Everything measured for one variant at one N; absent parts were not reached. */
export interface VariantResult {
  variant: Variant;
  n: number;
  /** Server processes (a cluster variant's instances; 1 otherwise). */
  instances?: number;
  error?: string;
  connect?: ConnectReport;
  /** Streams the server itself counted once the client had them all open. */
  serverConnections?: number;
  memory?: {
    baseline: MemoryReport;
    idle: MemoryReport;
    heapPerConnection: number;
    rssPerConnection: number;
  };
  broadcast?: Repeated<BroadcastRun>;
  targeted?: Repeated<TargetedRun>;
  /** Targeted at a steady rate (`BENCH_PACED_RATE`), for its latency; the median is the round with the median p99. */
  paced?: Repeated<TargetedRun>;
  /** Topics: one with N subscribers, and many with a few each, on a fresh server. */
  topics?: TopicRun;
  /** Every stream at once, on a fresh server. */
  storm?: StormRun;
  /** Every stream after a delay drawn as the server's jittered `retry:` spreads a fleet, on a fresh server. */
  jitteredStorm?: StormRun;
}

/** The run in the middle by `key` (lower is better), with what every run lost. */
export function summarise<T extends { phase: PhaseReport }>(runs: T[], key: (run: T) => number): Repeated<T> {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return {
    median: sorted[Math.floor((sorted.length - 1) / 2)],
    runs,
    lost: runs.reduce((sum, r) => sum + r.phase.lost, 0),
    duplicates: runs.reduce((sum, r) => sum + r.phase.duplicates, 0),
  };
}
