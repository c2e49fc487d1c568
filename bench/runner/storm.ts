import type { CpuReport, MemoryReport, StormReport, Variant } from '../shared/protocol.js';
import { counterDelta, readListenCounters } from './netstat.js';
import { COMMAND_TIMEOUT_MS } from './phases.js';
import type { StormMode, StormRun } from './result.js';
import type { BenchSettings } from './settings.js';
import { withVariantProcesses } from './variant-processes.js';

const cpuTotal = (c: CpuReport) => c.user + c.system;

/**
 * One reconnect storm for one variant: a fresh server (so it holds only the
 * storm's sockets, and starts as cold as after a deploy) and a fresh load
 * generator; the server's CPU and the kernel's listen-queue counters are read
 * just before the first connect and just after the last head; then both end.
 */
export async function stormVariant(
  variant: Variant,
  mode: StormMode,
  tokens: string[],
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<StormRun> {
  const jitterMs = mode === 'jittered' ? settings.stormJitterMs : 0;
  const run: StormRun = { mode, jitterMs };
  try {
    await withVariantProcesses(variant, settings, async (server, load) => {
      const {
        ports: [port],
        path,
      } = server;
      // Start from a collected heap, so a GC the startup left pending does not land in the storm.
      await server.request<MemoryReport>({ cmd: 'memory' }, COMMAND_TIMEOUT_MS);

      const cpuBefore = await server.request<CpuReport>({ cmd: 'cpu' }, COMMAND_TIMEOUT_MS);
      const listenBefore = readListenCounters();
      const report = await load.request<StormReport>(
        {
          cmd: 'storm',
          port,
          path,
          tokens,
          jitterMs,
          seed: settings.seed,
          retryMs: settings.stormRetryMs,
          capMs: settings.stormCapMs,
          bucketMs: settings.stormBucketMs,
        },
        settings.stormCapMs + COMMAND_TIMEOUT_MS,
      );
      run.listen = counterDelta(listenBefore, readListenCounters());
      const cpuAfter = await server.request<CpuReport>({ cmd: 'cpu' }, COMMAND_TIMEOUT_MS);
      run.load = report;
      run.serverCpuUs = cpuTotal(cpuAfter) - cpuTotal(cpuBefore);
      if (report.connected > 0) run.cpuPerConnectUs = run.serverCpuUs / report.connected;
      run.peakConnectsPerSec = Math.max(0, ...report.perBucket) * (1000 / settings.stormBucketMs);
      run.serverConnections = await server.request<number>({ cmd: 'count' }, COMMAND_TIMEOUT_MS);
      log(
        `${mode} storm${jitterMs ? ` (0..${jitterMs} ms)` : ''}: ${report.connected}/${tokens.length} open in ` +
          `${report.elapsedMs.toFixed(0)} ms${report.capped ? ' (time cap)' : ''}, ` +
          `${run.cpuPerConnectUs?.toFixed(0) ?? '-'} µs server CPU per connect, ` +
          `${run.listen ? `${run.listen.listenOverflows} listen overflows, ${run.listen.listenDrops} drops` : 'no /proc/net/netstat'}, ` +
          `${report.retries} retries (connects issued in ${report.issuedMs.toFixed(0)} ms)`,
      );
    });
  } catch (err) {
    run.error = (err as Error).message.split('\n')[0];
    log(`${mode} storm FAILED: ${run.error}`);
  }
  return run;
}
