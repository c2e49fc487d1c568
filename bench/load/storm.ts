import { now } from '../shared/clock.js';
import { seededRandom } from '../shared/payload.js';
import type { StormCommand, StormReport } from '../shared/protocol.js';
import { SseConnection } from './sse-connection.js';

/**
 * A reconnect storm against a fresh server: every stream at once, or each after
 * its own jittered delay. Nothing throttles the connects here (unlike the connect
 * phase's 200 in flight): what the kernel's listen queue and the server's event
 * loop do with the burst is what is measured. A stream that fails before its head
 * (reset, refused, non-200) is tried again after `retryMs`, as a browser's
 * EventSource would; the storm ends by itself at `capMs`.
 */
export function runStorm(command: StormCommand, connections: SseConnection[], fdLimit: string): Promise<StormReport> {
  const total = command.tokens.length;
  const random = seededRandom(command.seed);
  const firstAttemptAt = new Float64Array(total);
  const openMs: number[] = [];
  const perBucket: number[] = [];
  const errors: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let retries = 0;
  let dropped = 0;
  let done = false;
  const startedAt = now();
  let lastOpenAt = startedAt;
  let issuedMs = 0;

  return new Promise((resolve) => {
    const finish = (capped: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const sorted = openMs.sort((a, b) => a - b);
      const at = (q: number) =>
        sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
      resolve({
        connected: openMs.length,
        failed: total - openMs.length,
        retries,
        dropped,
        errors,
        elapsedMs: (capped ? now() : lastOpenAt) - startedAt,
        issuedMs,
        openP50: at(0.5),
        openP99: at(0.99),
        openMax: sorted.length ? sorted[sorted.length - 1] : NaN,
        perBucket,
        capped,
        fdLimit,
      });
    };
    const cap = setTimeout(() => finish(true), command.capMs);

    const later = (client: number, ms: number) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        attempt(client);
      }, ms);
      timers.add(timer);
    };

    const attempt = (client: number) => {
      if (done) return;
      if (!firstAttemptAt[client]) firstAttemptAt[client] = now();
      let open = false;
      connections[client] = new SseConnection(command.port, `${command.path}?token=${command.tokens[client]}`, {
        onOpen: () => {
          open = true;
          const at = now();
          lastOpenAt = at;
          openMs.push(at - firstAttemptAt[client]);
          const bucket = Math.floor((at - startedAt) / command.bucketMs);
          while (perBucket.length <= bucket) perBucket.push(0);
          perBucket[bucket]++;
          if (openMs.length === total) finish(false);
        },
        onData: () => undefined,
        onClose: (reason) => {
          if (done) return;
          if (open) {
            dropped++;
            return;
          }
          retries++;
          if (errors.length < 5) errors.push(reason ?? 'closed');
          later(client, command.retryMs);
        },
      });
    };

    for (let client = 0; client < total; client++) {
      // The same delays for every variant (seeded), uniform integers in [0, jitterMs] as the server's retry hint draws them.
      if (command.jitterMs > 0) later(client, Math.floor(random() * (command.jitterMs + 1)));
      else attempt(client);
    }
    // The client's own floor: how long this process took to start every connect (at once) or to set every timer.
    issuedMs = now() - startedAt;
  });
}
