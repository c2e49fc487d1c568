import type { BenchPayload, PhaseReport } from '../shared/protocol.js';

/**
 * Per-client bookkeeping of one phase. Each client's events carry a sequence that
 * starts at 0 and rises by one, and TCP keeps their order, so a lower or equal
 * sequence is a duplicate and a jump is a gap. Loss is settled at the end from
 * what each client should have had.
 */
export class PhaseTally {
  private readonly last: Int32Array;
  private readonly received: Uint32Array;
  private latencies = new Float64Array(1 << 16);
  private samples = 0;
  delivered = 0;
  duplicates = 0;
  gaps = 0;
  stray = 0;
  closed = 0;
  lastReceivedAt = 0;

  constructor(
    readonly phase: BenchPayload['k'],
    clients: number,
  ) {
    this.last = new Int32Array(clients).fill(-1);
    this.received = new Uint32Array(clients);
  }

  record(client: number, data: string, receivedAt: number): void {
    let payload: BenchPayload;
    try {
      payload = JSON.parse(data) as BenchPayload;
    } catch {
      this.stray++;
      return;
    }
    if (payload.k !== this.phase || typeof payload.s !== 'number') {
      this.stray++;
      return;
    }
    const previous = this.last[client];
    if (payload.s <= previous) {
      this.duplicates++;
      return;
    }
    if (payload.s > previous + 1) this.gaps++;
    this.last[client] = payload.s;
    this.received[client]++;
    this.delivered++;
    this.lastReceivedAt = receivedAt;
    this.addLatency(receivedAt - payload.t);
  }

  report(expectedPerClient: number | number[], timedOut: boolean): PhaseReport {
    let expected = 0;
    let lost = 0;
    for (let i = 0; i < this.received.length; i++) {
      const want = typeof expectedPerClient === 'number' ? expectedPerClient : (expectedPerClient[i] ?? 0);
      expected += want;
      lost += Math.max(0, want - this.received[i]);
    }
    const sorted = this.latencies.subarray(0, this.samples).sort();
    const at = (q: number) => (this.samples ? sorted[Math.min(this.samples - 1, Math.floor(q * this.samples))] : NaN);
    return {
      expected,
      delivered: this.delivered,
      lost,
      duplicates: this.duplicates,
      gaps: this.gaps,
      stray: this.stray,
      closed: this.closed,
      lastReceivedAt: this.lastReceivedAt,
      latencyP50: at(0.5),
      latencyP99: at(0.99),
      latencyMax: this.samples ? sorted[this.samples - 1] : NaN,
      timedOut,
    };
  }

  private addLatency(ms: number): void {
    if (this.samples === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.samples++] = ms;
  }
}
