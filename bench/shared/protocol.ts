/** Messages exchanged over IPC between the runner and its child processes. */

export type Variant = 'plain' | 'library' | 'sse-route' | 'nest-sse' | 'naive';
export const VARIANTS: readonly Variant[] = ['plain', 'library', 'sse-route', 'nest-sse', 'naive'];

/** What the servers put in every event's JSON data, so the client can check and time it. */
export interface BenchPayload {
  /** Phase: `b` broadcast, `t` targeted. */
  k: 'b' | 't';
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
  | { cmd: 'broadcast'; count: number; bytes: number }
  | { cmd: 'targeted'; count: number; users: number; bytes: number; batch: number; timeCapMs: number; seed: number }
  | { cmd: 'stop' };

export interface ServerReady {
  port: number;
  path: string;
}

export interface MemoryReport {
  heapUsed: number;
  rss: number;
}

export interface SendReport {
  sent: number;
  /** Events addressed to each user `u<i>`, by i (broadcast: all equal to `sent`). */
  perUser?: number[];
  startedAt: number;
  endedAt: number;
  /** True when the time cap stopped the sender before `count`. */
  capped: boolean;
}

export type LoadCommand =
  | { cmd: 'connect'; port: number; path: string; tokens: string[]; concurrency: number; timeoutMs: number }
  | { cmd: 'arm'; phase: 'b' | 't' }
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
