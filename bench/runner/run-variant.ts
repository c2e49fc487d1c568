import { sleep } from '../shared/clock.js';
import type { ConnectReport, MemoryReport, Variant } from '../shared/protocol.js';
import { broadcastRound, collectGarbage, COMMAND_TIMEOUT_MS, pacedRound, targetedRound } from './phases.js';
import { type BroadcastRun, summarise, type TargetedRun, type VariantResult } from './result.js';
import type { BenchSettings } from './settings.js';
import { withVariantProcesses } from './variant-processes.js';

/**
 * One variant at one N: a fresh server (or a cluster variant's instances, the
 * streams split between them) and a fresh load generator, the phases in order
 * (connect, idle memory, broadcast and targeted rounds, and paced targeted rounds
 * for `BENCH_PACED_VARIANTS`), then every process ended. A phase that fails or
 * times out ends the variant's run; what was measured is kept.
 */
export async function runVariant(
  variant: Variant,
  tokens: string[],
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<VariantResult> {
  const n = tokens.length;
  const result: VariantResult = { variant, n };
  try {
    await withVariantProcesses(variant, settings, async (server, load) => {
      const { ports, path } = server;
      result.instances = server.size;
      const baseline = await server.request<MemoryReport>({ cmd: 'memory' }, COMMAND_TIMEOUT_MS);

      const connect = await load.request<ConnectReport>(
        {
          cmd: 'connect',
          port: ports[0],
          ports,
          path,
          tokens,
          concurrency: settings.connectConcurrency,
          timeoutMs: settings.phaseTimeoutMs,
        },
        settings.phaseTimeoutMs + COMMAND_TIMEOUT_MS,
      );
      result.connect = connect;
      log(
        `connected ${connect.connected}/${n} in ${connect.elapsedMs.toFixed(0)} ms (client fd limit ${connect.fdLimit})`,
      );
      if (connect.connected < n)
        throw new Error(`only ${connect.connected}/${n} streams opened: ${connect.errors.join('; ')}`);

      // Nest's @Sse() (the naive pattern) sends its headers on a timer after subscribing: let every stream settle first.
      await sleep(500);
      result.serverConnections = await server.request<number>({ cmd: 'count' }, COMMAND_TIMEOUT_MS);
      await load.request({ cmd: 'gc' }, COMMAND_TIMEOUT_MS);
      const idle = await server.request<MemoryReport>({ cmd: 'memory' }, COMMAND_TIMEOUT_MS);
      result.memory = {
        baseline,
        idle,
        heapPerConnection: (idle.heapUsed - baseline.heapUsed) / n,
        rssPerConnection: (idle.rss - baseline.rss) / n,
      };
      log(
        `idle: ${(result.memory.heapPerConnection / 1024).toFixed(2)} KB heap per stream (server counts ${result.serverConnections})`,
      );

      const broadcasts: BroadcastRun[] = [];
      for (let round = 0; round < settings.repeats; round++) {
        await collectGarbage(server, load);
        const run = await broadcastRound(server, load, settings);
        broadcasts.push(run);
        log(`broadcast ${round + 1}: ${run.phase.delivered}/${run.phase.expected} in ${run.fanOutMs.toFixed(0)} ms`);
      }
      result.broadcast = summarise(broadcasts, (r) => r.fanOutMs);

      const targeted: TargetedRun[] = [];
      for (let round = 0; round < settings.repeats; round++) {
        await collectGarbage(server, load);
        const run = await targetedRound(server, load, settings, n, settings.seed + round);
        targeted.push(run);
        log(
          `targeted ${round + 1}: ${run.phase.delivered}/${run.phase.expected} in ${run.elapsedMs.toFixed(0)} ms` +
            (run.send.capped ? ` (time cap: ${run.send.sent} of ${settings.targetedEvents} sent, not repeated)` : ''),
        );
        // A capped round is already as long as a phase may be; its rate will not change.
        if (run.send.capped) break;
      }
      result.targeted = summarise(targeted, (r) => -r.eventsPerSec);

      if (settings.pacedVariants.includes(variant)) {
        const paced: TargetedRun[] = [];
        for (let round = 0; round < settings.repeats; round++) {
          await collectGarbage(server, load);
          const run = await pacedRound(server, load, settings, n, settings.seed + round);
          paced.push(run);
          const sentPerSec = (run.send.sent / (run.send.endedAt - run.send.startedAt)) * 1000;
          log(
            `paced ${round + 1}: ${run.phase.delivered}/${run.phase.expected} at ${sentPerSec.toFixed(0)} sent/s, ` +
              `latency p50 ${run.phase.latencyP50.toFixed(1)} ms, p99 ${run.phase.latencyP99.toFixed(1)} ms`,
          );
        }
        result.paced = summarise(paced, (r) => r.phase.latencyP99);
      }
    });
  } catch (err) {
    result.error = (err as Error).message.split('\n')[0];
    log(`FAILED: ${result.error}`);
  }
  return result;
}
