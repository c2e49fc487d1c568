import { CLUSTER_VARIANTS, METRICS_VARIANTS, type Variant } from '../shared/protocol.js';
import type { StormRun, VariantResult } from './result.js';
import type { BenchSettings } from './settings.js';

interface Row {
  label: string;
  value(r: VariantResult): number | undefined;
  digits: number;
}

/** Over every round of the phases (paced ones included where they ran), not just the median ones. */
const lostOf = (r: VariantResult) =>
  r.broadcast && r.targeted ? r.broadcast.lost + r.targeted.lost + (r.paced?.lost ?? 0) : undefined;
const duplicatesOf = (r: VariantResult) =>
  r.broadcast && r.targeted ? r.broadcast.duplicates + r.targeted.duplicates + (r.paced?.duplicates ?? 0) : undefined;

/** Over every round of both topic shapes. */
function topicLosses(r: VariantResult): { lost: number; duplicates: number } | undefined {
  const { one, many } = r.topics ?? {};
  return one && many ? { lost: one.lost + many.lost, duplicates: one.duplicates + many.duplicates } : undefined;
}

const ROWS: Row[] = [
  { label: 'connect all N (ms)', value: (r) => r.connect?.elapsedMs, digits: 0 },
  { label: 'heap per idle stream (KB)', value: (r) => kb(r.memory?.heapPerConnection), digits: 2 },
  { label: 'RSS per idle stream (KB)', value: (r) => kb(r.memory?.rssPerConnection), digits: 2 },
  { label: 'broadcast fan-out (ms)', value: (r) => r.broadcast?.median.fanOutMs, digits: 0 },
  { label: 'broadcast deliveries/s', value: (r) => r.broadcast?.median.deliveriesPerSec, digits: 0 },
  { label: 'broadcast latency p50 (ms)', value: (r) => r.broadcast?.median.phase.latencyP50, digits: 1 },
  { label: 'broadcast latency p99 (ms)', value: (r) => r.broadcast?.median.phase.latencyP99, digits: 1 },
  { label: 'targeted events/s', value: (r) => r.targeted?.median.eventsPerSec, digits: 0 },
  { label: 'targeted latency p50 (ms)', value: (r) => r.targeted?.median.phase.latencyP50, digits: 1 },
  { label: 'targeted latency p99 (ms)', value: (r) => r.targeted?.median.phase.latencyP99, digits: 1 },
  // Targeted at a steady rate: the latency of the path when nothing queues.
  { label: 'paced targeted: latency p50 (ms)', value: (r) => r.paced?.median.phase.latencyP50, digits: 1 },
  { label: 'paced targeted: latency p99 (ms)', value: (r) => r.paced?.median.phase.latencyP99, digits: 1 },
  { label: 'events lost', value: lostOf, digits: 0 },
  { label: 'duplicates', value: duplicatesOf, digits: 0 },
  // Topics, on a fresh server: one topic all N streams are in, and N / 10 topics of 10 streams.
  { label: 'topics: connect all N, 2 each (ms)', value: (r) => r.topics?.connect?.elapsedMs, digits: 0 },
  { label: 'one topic: fan-out (ms)', value: (r) => r.topics?.one?.median.fanOutMs, digits: 0 },
  { label: 'one topic: deliveries/s', value: (r) => r.topics?.one?.median.deliveriesPerSec, digits: 0 },
  { label: 'one topic: latency p99 (ms)', value: (r) => r.topics?.one?.median.phase.latencyP99, digits: 1 },
  { label: 'many topics: burst (ms)', value: (r) => r.topics?.many?.median.elapsedMs, digits: 0 },
  { label: 'many topics: deliveries/s', value: (r) => r.topics?.many?.median.eventsPerSec, digits: 0 },
  { label: 'many topics: latency p99 (ms)', value: (r) => r.topics?.many?.median.phase.latencyP99, digits: 1 },
  { label: 'topics: events lost', value: (r) => topicLosses(r)?.lost, digits: 0 },
  { label: 'topics: duplicates', value: (r) => topicLosses(r)?.duplicates, digits: 0 },
  // Reconnect storms, each on a fresh server.
  { label: 'storm: all N open (ms)', value: (r) => r.storm?.load?.elapsedMs, digits: 0 },
  { label: 'storm: server CPU/connect (µs)', value: (r) => r.storm?.cpuPerConnectUs, digits: 0 },
  { label: 'storm: open p50 (ms)', value: (r) => r.storm?.load?.openP50, digits: 0 },
  { label: 'storm: open p99 (ms)', value: (r) => r.storm?.load?.openP99, digits: 0 },
  { label: 'storm: listen overflows', value: (r) => r.storm?.listen?.listenOverflows, digits: 0 },
  { label: 'storm: listen drops', value: (r) => r.storm?.listen?.listenDrops, digits: 0 },
  { label: 'storm: retried connects', value: (r) => r.storm?.load?.retries, digits: 0 },
  { label: 'jittered storm: all N open (ms)', value: (r) => r.jitteredStorm?.load?.elapsedMs, digits: 0 },
  { label: 'jittered storm: peak connects/s', value: (r) => r.jitteredStorm?.peakConnectsPerSec, digits: 0 },
  { label: 'jittered storm: CPU/connect (µs)', value: (r) => r.jitteredStorm?.cpuPerConnectUs, digits: 0 },
  { label: 'jittered storm: open p99 (ms)', value: (r) => r.jitteredStorm?.load?.openP99, digits: 0 },
  { label: 'jittered storm: listen overflows', value: (r) => r.jitteredStorm?.listen?.listenOverflows, digits: 0 },
];

function kb(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : bytes / 1024;
}

function fmt(value: number | undefined, digits: number): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(value: number | undefined, limit: number | undefined): string {
  if (value === undefined || limit === undefined || !Number.isFinite(value) || !limit) return '-';
  const r = value / limit;
  // Two significant digits at least, so a tiny ratio does not print as 0.00x.
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
}

/** Each cluster variant in `results` with its baseline (the same module in one process, memory transport), when both ran. */
function clusterPairs(results: VariantResult[]): { cluster: VariantResult; baseline: VariantResult }[] {
  return results.flatMap((cluster) => {
    const baseline = results.find((r) => r.variant === CLUSTER_VARIANTS[cluster.variant]?.baseline);
    return baseline ? [{ cluster, baseline }] : [];
  });
}

/**
 * One table per N: every figure, and its ratio to the plain server (the limit);
 * a cluster variant also gets a column of ratios to its baseline, and its targets' lines under the table.
 */
export function formatTable(n: number, results: VariantResult[], settings: BenchSettings): string {
  const plain = results.find((r) => r.variant === 'plain');
  const others = results.filter((r) => r.variant !== 'plain');
  const pairs = clusterPairs(results);
  const header = [
    '',
    ...results.map((r) => r.variant),
    ...others.map((r) => `${r.variant}/plain`),
    ...pairs.map(({ cluster, baseline }) => `${cluster.variant}/${baseline.variant}`),
  ];
  // Storm, topic and paced rows only when some variant went through them.
  const rows = ROWS.filter(
    (row) => results.some((r) => row.value(r) !== undefined) || !/storm|topic|paced/.test(row.label),
  );
  const lines = rows.map((row) => [
    row.label,
    ...results.map((r) => fmt(row.value(r), row.digits)),
    ...others.map((r) => ratio(row.value(r), plain && row.value(plain))),
    ...pairs.map(({ cluster, baseline }) => ratio(row.value(cluster), row.value(baseline))),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...lines].map((cells) => cells[i].length)));
  const render = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const topics = results.find((r) => r.topics)?.topics;
  const shapes = topics
    ? [
        `  topics: "one topic" has all ${n.toLocaleString('en-US')} streams; "many topics" are ${topics.topics.toLocaleString('en-US')} of ${topics.subscribers} streams each (every stream in one of them too)`,
      ]
    : [];
  const paced = results.some((r) => r.paced)
    ? [
        `  paced targeted: ${settings.pacedEvents.toLocaleString('en-US')} events at ${settings.pacedRate.toLocaleString('en-US')}/s to random users, median round by p99`,
      ]
    : [];
  const clusters = results
    .filter((r) => CLUSTER_VARIANTS[r.variant])
    .map(
      (r) =>
        `  ${r.variant}: ${CLUSTER_VARIANTS[r.variant]!.instances} instances on one private redis-server, streams split between them, every event sent from the first`,
    );
  const metrics = metricsVerdicts(results).map((v) => `  ${word(v)}  ${v.target}: ${v.detail}`);
  const targets = pairs.flatMap(({ cluster }) => {
    const verdicts = clusterVerdicts(results, cluster.variant, settings);
    return [
      `  ${cluster.variant} targets at N = ${n.toLocaleString('en-US')}:`,
      ...verdicts.map((v) => `    ${word(v)}  ${v.target}: ${v.detail}`),
    ];
  });
  return [
    `N = ${n.toLocaleString('en-US')}`,
    render(header),
    ...lines.map(render),
    ...shapes,
    ...paced,
    ...clusters,
    ...notes(results, n, settings),
    ...metrics,
    ...targets,
  ].join('\n');
}

/** What a reader needs to trust the figures: failures, time caps, streams that dropped. */
function notes(results: VariantResult[], n: number, settings: BenchSettings): string[] {
  const requested = settings.targetedEvents;
  const out: string[] = [];
  for (const r of results) {
    if (r.error) out.push(`  ! ${r.variant}: did not finish: ${r.error}`);
    if (r.serverConnections !== undefined && r.serverConnections !== n) {
      out.push(`  ! ${r.variant}: server counted ${r.serverConnections} open streams, expected ${n}`);
    }
    const phases = [
      ...(r.broadcast?.runs ?? []).map((run) => ['broadcast', run.phase] as const),
      ...(r.targeted?.runs ?? []).map((run) => ['targeted', run.phase] as const),
      ...(r.paced?.runs ?? []).map((run) => ['paced targeted', run.phase] as const),
      ...(r.topics?.one?.runs ?? []).map((run) => ['one topic', run.phase] as const),
      ...(r.topics?.many?.runs ?? []).map((run) => ['many topics', run.phase] as const),
    ];
    if (r.topics?.error) out.push(`  ! ${r.variant}: topic phase did not finish: ${r.topics.error}`);
    if (r.topics?.serverConnections !== undefined && r.topics.serverConnections !== n) {
      out.push(
        `  ! ${r.variant}: in the topic phase the server counted ${r.topics.serverConnections} open streams, expected ${n}`,
      );
    }
    for (const [name, phase] of phases) {
      if (phase.timedOut)
        out.push(`  ! ${r.variant}: ${name} timed out with ${phase.delivered}/${phase.expected} delivered`);
      if (phase.closed) out.push(`  ! ${r.variant}: ${phase.closed} streams closed during ${name}`);
      if (phase.gaps || phase.stray)
        out.push(`  ! ${r.variant}: ${name}: ${phase.gaps} sequence gaps, ${phase.stray} stray frames`);
    }
    for (const storm of [r.storm, r.jitteredStorm]) {
      if (!storm) continue;
      const name = storm.mode === 'jittered' ? 'jittered storm' : 'storm';
      if (storm.error) out.push(`  ! ${r.variant}: ${name} did not finish: ${storm.error}`);
      const load = storm.load;
      if (!load) continue;
      if (load.capped) {
        out.push(
          `  ! ${r.variant}: ${name} hit its time cap with ${load.connected}/${n} open (${load.errors.join('; ') || 'no error seen'})`,
        );
      }
      if (load.dropped) out.push(`  ! ${r.variant}: ${load.dropped} streams closed during the ${name} after opening`);
      if (storm.serverConnections !== undefined && storm.serverConnections !== load.connected) {
        out.push(
          `  ! ${r.variant}: after the ${name} the server counted ${storm.serverConnections} open streams, the client ${load.connected}`,
        );
      }
    }
    for (const run of r.paced?.runs ?? []) {
      const sentPerSec = (run.send.sent / (run.send.endedAt - run.send.startedAt)) * 1000;
      if (sentPerSec < settings.pacedRate * 0.95) {
        out.push(
          `  ! ${r.variant}: a paced round sent ${sentPerSec.toFixed(0)}/s, short of ${settings.pacedRate}/s: the server could not keep the rate`,
        );
        break;
      }
    }
    if (r.topics?.many?.median.send.capped)
      out.push(`  * ${r.variant}: many topics hit the time cap; their rate is measured on the events sent`);
    const t = r.targeted?.median;
    if (t?.send.capped) {
      const projectedSec = requested / t.eventsPerSec;
      out.push(
        `  * ${r.variant}: targeted phase hit the time cap: ${t.send.sent.toLocaleString('en-US')} events sent, ` +
          `its rate is measured on those (${requested.toLocaleString('en-US')} would take ~${projectedSec.toFixed(0)} s at that rate)`,
      );
    }
  }
  return out;
}

/** Connects in each bucket of each storm, one line per variant: the shape of the storm over time. */
export function formatStormBuckets(results: VariantResult[], settings: BenchSettings): string {
  const block = (title: string, pick: (r: VariantResult) => StormRun | undefined) => {
    const rows = results.filter((r) => pick(r)?.load);
    if (!rows.length) return [];
    const width = Math.max(...rows.map((r) => r.variant.length));
    return [title, ...rows.map((r) => `  ${r.variant.padEnd(width)}  ${pick(r)!.load!.perBucket.join(' ')}`)];
  };
  const per = `${settings.stormBucketMs} ms`;
  return [
    ...block(`Storm, all N at once: streams opened per ${per}`, (r) => r.storm),
    ...block(
      `Jittered storm (each client waits 0..${settings.stormJitterMs} ms): streams opened per ${per}`,
      (r) => r.jitteredStorm,
    ),
  ].join('\n');
}

export interface Verdict {
  target: string;
  pass: boolean | null;
  detail: string;
}

const TARGET_N = 10_000;

const word = (v: Verdict) => (v.pass === null ? 'SKIP' : v.pass ? 'PASS' : 'FAIL');

function ratioCheck(target: string, a: number | undefined, b: number | undefined, ok: (x: number) => boolean): Verdict {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return { target, pass: null, detail: 'not measured' };
  }
  return { target, pass: ok(a / b), detail: `${(a / b).toFixed(2)}x` };
}

/** Metrics' cost on the hot path: at most this much more broadcast fan-out time with them on. */
const METRICS_FAN_OUT_RATIO = 1.05;

/** Each metrics variant against the same variant without metrics, when both ran at this N. */
function metricsVerdicts(results: VariantResult[]): Verdict[] {
  return results.flatMap((withMetrics) => {
    const without = results.find((r) => r.variant === METRICS_VARIANTS[withMetrics.variant]);
    if (!without) return [];
    const on = withMetrics.broadcast?.median.fanOutMs;
    const off = without.broadcast?.median.fanOutMs;
    const verdict = ratioCheck(
      `${withMetrics.variant}: broadcast fan-out time <= ${METRICS_FAN_OUT_RATIO}x ${without.variant} (metrics on / off)`,
      on,
      off,
      (x) => x <= METRICS_FAN_OUT_RATIO,
    );
    return [
      verdict.pass === null
        ? verdict
        : { ...verdict, detail: `${verdict.detail} (${on!.toFixed(1)} ms / ${off!.toFixed(1)} ms)` },
    ];
  });
}

/** The cluster's p99 target: judged only at the paced rate below (5,000 events a second). */
const CLUSTER_P99_MS = 50;
const CLUSTER_P99_RATE = 5_000;

/**
 * The targets of a cluster variant against its baseline, from one N's
 * results: broadcast and targeted throughput at least half the baseline's, p99
 * publish-to-delivery latency under 50 ms at 5,000 events/s, nothing lost.
 */
function clusterVerdicts(results: VariantResult[], variant: Variant, settings: BenchSettings): Verdict[] {
  const cluster = results.find((r) => r.variant === variant);
  const baselineName = CLUSTER_VARIANTS[variant]?.baseline;
  const baseline = results.find((r) => r.variant === baselineName);
  const p99 = cluster?.paced?.median.phase.latencyP99;
  const pacedTarget = `${variant}: paced targeted p99 < ${CLUSTER_P99_MS} ms at ${CLUSTER_P99_RATE.toLocaleString('en-US')} events/s`;
  const lost = cluster && lostOf(cluster);
  const dups = cluster && duplicatesOf(cluster);
  return [
    ratioCheck(
      `${variant}: broadcast deliveries/s >= 0.5x ${baselineName}`,
      cluster?.broadcast?.median.deliveriesPerSec,
      baseline?.broadcast?.median.deliveriesPerSec,
      (x) => x >= 0.5,
    ),
    ratioCheck(
      `${variant}: targeted events/s >= 0.5x ${baselineName}`,
      cluster?.targeted?.median.eventsPerSec,
      baseline?.targeted?.median.eventsPerSec,
      (x) => x >= 0.5,
    ),
    p99 === undefined || !Number.isFinite(p99) || settings.pacedRate !== CLUSTER_P99_RATE
      ? {
          target: pacedTarget,
          pass: null,
          detail: p99 === undefined ? 'not measured' : `measured at ${settings.pacedRate}/s (BENCH_PACED_RATE)`,
        }
      : {
          target: pacedTarget,
          pass: p99 < CLUSTER_P99_MS,
          detail: `${p99.toFixed(1)} ms (p50 ${cluster!.paced!.median.phase.latencyP50.toFixed(1)} ms; ${baselineName} ${baseline?.paced?.median.phase.latencyP99.toFixed(1) ?? '-'} ms)`,
        },
    lost === undefined || cluster?.error
      ? { target: `${variant}: no event lost`, pass: null, detail: 'not measured' }
      : {
          target: `${variant}: no event lost`,
          pass: lost === 0 && dups === 0,
          detail: `${lost} lost, ${dups} duplicates`,
        },
  ];
}

/** The targets, judged on the run at N = 10,000 only. */
export function judge(all: VariantResult[], settings: BenchSettings): Verdict[] {
  const atTarget = all.filter((r) => r.n === TARGET_N);
  const at = (variant: Variant) => atTarget.find((r) => r.variant === variant);
  const lib = at('library');
  const fastify = at('fastify');
  const plain = at('plain');
  const naive = at('naive');
  const check = ratioCheck;
  const fanOut = (r?: VariantResult) => r?.broadcast?.median.fanOutMs;
  const rate = (r?: VariantResult) => r?.targeted?.median.eventsPerSec;
  const oneTopic = (r?: VariantResult) => r?.topics?.one?.median.fanOutMs;
  const manyRate = (r?: VariantResult) => r?.topics?.many?.median.eventsPerSec;
  const heap = (r?: VariantResult) => r?.memory?.heapPerConnection;
  const rss = (r?: VariantResult) => r?.memory?.rssPerConnection;
  const lost = lib && lostOf(lib);
  const dups = lib && duplicatesOf(lib);
  const stormCpu = (r?: VariantResult) => r?.storm?.cpuPerConnectUs;
  const stormWall = (r?: VariantResult) =>
    r?.storm?.load && !r.storm.load.capped ? r.storm.load.elapsedMs : undefined;
  const libStorm = lib?.storm?.load;
  const complete = lib && !lib.error && lib.connect?.connected === TARGET_N && settings.targetedEvents > 0;
  return [
    check('broadcast fan-out time <= 2x plain', fanOut(lib), fanOut(plain), (x) => x <= 2),
    check('targeted throughput >= 0.6x plain', rate(lib), rate(plain), (x) => x >= 0.6),
    check('targeted throughput >= 20x naive', rate(lib), rate(naive), (x) => x >= 20),
    // Reconnect storms: the burst's time within 1.2x plain's, history on.
    check('targeted burst time <= 1.2x plain', rate(plain), rate(lib), (x) => x <= 1.2),
    // Topics: a topic send has user sends' goal, on both shapes and on both adapters.
    check('one topic of N: fan-out time <= 1.2x plain', oneTopic(lib), oneTopic(plain), (x) => x <= 1.2),
    check('many topics: burst time <= 1.2x plain', manyRate(plain), manyRate(lib), (x) => x <= 1.2),
    check('fastify: one topic of N: fan-out time <= 1.2x plain', oneTopic(fastify), oneTopic(plain), (x) => x <= 1.2),
    check('fastify: many topics: burst time <= 1.2x plain', manyRate(plain), manyRate(fastify), (x) => x <= 1.2),
    check('heap per idle stream <= 2x plain', heap(lib), heap(plain), (x) => x <= 2),
    // Idle memory: on at least one supported adapter, heap and RSS per stream within 1.5x.
    check('fastify: heap per idle stream <= 1.5x plain', heap(fastify), heap(plain), (x) => x <= 1.5),
    check('fastify: RSS per idle stream <= 1.5x plain', rss(fastify), rss(plain), (x) => x <= 1.5),
    check('storm: server CPU per connect <= 1.5x plain', stormCpu(lib), stormCpu(plain), (x) => x <= 1.5),
    check('fastify: storm server CPU per connect <= 1.5x plain', stormCpu(fastify), stormCpu(plain), (x) => x <= 1.5),
    libStorm?.capped && stormWall(plain) !== undefined
      ? {
          target: 'storm: all N open within 2x plain wall time',
          pass: false,
          detail: `${libStorm.connected}/${TARGET_N} open at the ${settings.stormCapMs / 1000} s cap`,
        }
      : check('storm: all N open within 2x plain wall time', stormWall(lib), stormWall(plain), (x) => x <= 2),
    lost === undefined || !complete
      ? { target: 'no event lost', pass: null, detail: 'not measured' }
      : { target: 'no event lost', pass: lost === 0 && dups === 0, detail: `${lost} lost, ${dups} duplicates` },
    ...[lib, fastify].map((r, i) => {
      const target = `${i ? 'fastify: ' : ''}topics: no event lost`;
      const losses = r && topicLosses(r);
      return !losses || r.topics?.error
        ? { target, pass: null, detail: 'not measured' }
        : {
            target,
            pass: losses.lost === 0 && losses.duplicates === 0,
            detail: `${losses.lost} lost, ${losses.duplicates} duplicates`,
          };
    }),
    // Metrics: on, against the same variant without.
    ...metricsVerdicts(atTarget),
    // The cluster's targets, for each cluster variant that ran.
    ...atTarget
      .filter((r) => CLUSTER_VARIANTS[r.variant])
      .flatMap((r) => clusterVerdicts(atTarget, r.variant, settings)),
  ];
}

export function formatVerdicts(verdicts: Verdict[], ran: boolean): string {
  if (!ran) return `Targets are judged at N = ${TARGET_N.toLocaleString('en-US')}, which this run did not include.`;
  return [
    `Targets (library at N = ${TARGET_N.toLocaleString('en-US')}, same run):`,
    ...verdicts.map((v) => `  ${word(v)}  ${v.target}: ${v.detail}`),
  ].join('\n');
}

export { TARGET_N };
