import type { ConnectReport, MemoryReport, PhaseReport, SendReport, Variant } from '../shared/protocol.js';

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
