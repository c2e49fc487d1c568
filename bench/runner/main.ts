import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';

import jwt from 'jsonwebtoken';

import { killAllChildren } from '../shared/ipc.js';
import { REPO_ROOT } from '../shared/paths.js';
import { userId } from '../shared/payload.js';
import { CLUSTER_VARIANTS } from '../shared/protocol.js';
import { hasRedisServer } from './redis-server.js';
import { formatStormBuckets, formatTable, formatVerdicts, judge, TARGET_N } from './report.js';
import type { VariantResult } from './result.js';
import { runVariant } from './run-variant.js';
import { type BenchSettings, loadSettings } from './settings.js';
import { stormVariant } from './storm.js';
import { topicVariant } from './topics.js';

/** Enough about the machine to tell whether two result files can be compared. */
function machineInfo() {
  const cores = cpus();
  return {
    os: `${type()} ${release()}`,
    cpuModel: cores[0]?.model ?? 'unknown',
    cpuCount: cores.length,
    totalMemGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    /** Other work on the machine skews every ratio: this is the 1-minute load when the run began. */
    loadAverage: Number(loadavg()[0].toFixed(2)),
  };
}

/** The commit measured, and whether the work tree differed from it (read-only git calls). */
function revision(): { commit: string; dirty: boolean } | undefined {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    return undefined;
  }
}

/**
 * One token per stream, each for a distinct user `u<i>`, signed as the demo app
 * signs them (HS256, one hour): servers that check `exp` pay for it here too.
 */
function signTokens(count: number, secret: string): string[] {
  return Array.from({ length: count }, (_, i) =>
    jwt.sign({ sub: userId(i) }, secret, { algorithm: 'HS256', expiresIn: '1h' }),
  );
}

/**
 * `npm run bench`: each N, each variant in turn (one server at a time, so a
 * two-core machine gives one core to the server and one to the load generator),
 * then the tables, the targets, and bench/results/latest.json.
 */
async function main(settings: BenchSettings): Promise<number> {
  const clusters = settings.variants.filter((v) => CLUSTER_VARIANTS[v]);
  if (clusters.length && !hasRedisServer()) {
    // A newcomer's machine may have no Redis: the run goes on without the variants that need one.
    console.log(
      `notice: no redis-server on this machine (PATH), so ${clusters.join(', ')} is skipped; install redis-server to measure it`,
    );
    settings.variants = settings.variants.filter((v) => !CLUSTER_VARIANTS[v]);
    settings.pacedVariants = settings.pacedVariants.filter((v) =>
      settings.variants.some((c) => CLUSTER_VARIANTS[c]?.baseline === v),
    );
  }
  const machine = machineInfo();
  const source = revision();
  const startedAt = new Date().toISOString();
  console.log(`nest-sse benchmark, ${startedAt}`);
  console.log(
    `machine: ${machine.cpuCount} x ${machine.cpuModel}, ${machine.totalMemGiB} GiB, ${machine.os}, node ${machine.node}`,
  );
  console.log(`load average at start: ${machine.loadAverage} (other work on the machine makes the ratios noisy)`);
  if (source) console.log(`source: ${source.commit.slice(0, 12)}${source.dirty ? ' (with uncommitted changes)' : ''}`);
  console.log(
    `load: N in [${settings.sizes.join(', ')}], variants ${settings.variants.join(', ')}; ` +
      `broadcast ${settings.broadcastEvents} x ${settings.eventBytes} B; targeted ${settings.targetedEvents} x ${settings.eventBytes} B ` +
      `(cap ${settings.targetedTimeCapMs / 1000} s); ${settings.repeats} rounds of each, median shown; ` +
      'loopback only; tokens HS256 with exp',
  );
  for (const variant of settings.variants.filter((v) => CLUSTER_VARIANTS[v])) {
    const { instances, baseline } = CLUSTER_VARIANTS[variant]!;
    console.log(
      `${variant}: ${instances} instances of ${baseline}'s app on RedisSseTransport, one private redis-server; streams split between them, ` +
        `events sent from the first; judged against ${baseline} (one process, memory transport) in this run`,
    );
  }
  if (settings.pacedVariants.length) {
    console.log(
      `paced targeted (${settings.pacedVariants.join(', ')}): ${settings.pacedEvents} x ${settings.eventBytes} B at ` +
        `${settings.pacedRate}/s to random users; ${settings.repeats} rounds, the median p99 shown`,
    );
  }
  if (settings.topicVariants.length) {
    console.log(
      `topics (each on a fresh server): ${settings.topicVariants.join(', ')}; every stream subscribed to one topic of all N ` +
        `(${settings.topicEvents} x ${settings.eventBytes} B published to it) and to one of N/${settings.topicSubscribers} topics ` +
        `(${settings.topicPublishes} x ${settings.eventBytes} B published to topics drawn at random); ${settings.repeats} rounds of each`,
    );
  }
  if (settings.stormVariants.length) {
    console.log(
      `storms (each on a fresh server): ${settings.stormVariants.join(', ')}; all N at once, then spread uniformly over ` +
        `0..${settings.stormJitterMs} ms; failed connects retried after ${settings.stormRetryMs} ms; ` +
        `cap ${settings.stormCapMs / 1000} s; connects counted per ${settings.stormBucketMs} ms`,
    );
  }

  const results: VariantResult[] = [];
  const tables: string[] = [];
  for (const n of settings.sizes) {
    const tokens = signTokens(n, settings.secret);
    const batch: VariantResult[] = [];
    for (const variant of settings.variants) {
      const log = (line: string) => console.log(`[N=${n} ${variant}] ${line}`);
      const result = await runVariant(variant, tokens, settings, log);
      if (settings.topicVariants.includes(variant)) result.topics = await topicVariant(variant, tokens, settings, log);
      if (settings.stormVariants.includes(variant)) {
        result.storm = await stormVariant(variant, 'at-once', tokens, settings, log);
        result.jitteredStorm = await stormVariant(variant, 'jittered', tokens, settings, log);
      }
      batch.push(result);
    }
    results.push(...batch);
    tables.push(...[formatTable(n, batch, settings), formatStormBuckets(batch, settings)].filter(Boolean));
  }

  const verdicts = judge(results, settings);
  const ranTargetSize = settings.sizes.includes(TARGET_N);
  console.log(`\n${tables.join('\n\n')}\n\n${formatVerdicts(verdicts, ranTargetSize)}`);

  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  const report = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    source,
    settings: { ...settings, secret: undefined },
    results,
    verdicts,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  // A completed run exits 0 whatever the verdicts: the targets are reported, not enforced.
  return results.some((r) => r.error || r.topics?.error || r.storm?.error || r.jitteredStorm?.error) ? 1 : 0;
}

let settings: BenchSettings;
try {
  settings = loadSettings();
} catch (err) {
  console.error(`benchmark: ${(err as Error).message}`);
  process.exit(1);
}

const deadline = setTimeout(() => {
  console.error(`benchmark: stopped after ${settings.runTimeoutMs / 1000} s (BENCH_RUN_TIMEOUT_MS)`);
  killAllChildren();
  process.exit(2);
}, settings.runTimeoutMs);

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main(settings).then(
  (code) => {
    clearTimeout(deadline);
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    killAllChildren();
    process.exit(1);
  },
);
