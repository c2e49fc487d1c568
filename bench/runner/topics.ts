import { sleep } from '../shared/clock.js';
import { ONE_TOPIC, topicName, topicOf } from '../shared/payload.js';
import type { ConnectReport, Variant } from '../shared/protocol.js';
import { collectGarbage, COMMAND_TIMEOUT_MS, manyTopicsRound, oneTopicRound } from './phases.js';
import { type BroadcastRun, summarise, type TargetedRun, type TopicRun } from './result.js';
import type { BenchSettings } from './settings.js';
import { withVariantProcesses } from './variant-processes.js';

/**
 * The topic phase for one variant: a fresh server and load generator
 * (topics are chosen at connect, and the other phases' streams have none), every
 * stream opened with two topics: `ONE_TOPIC`, which all N are in (shape a), and
 * one of N / `topicSubscribers` topics (shape b, `topicOf`). Then rounds of each
 * shape, as broadcast's and targeted's, and both processes ended.
 */
export async function topicVariant(
  variant: Variant,
  tokens: string[],
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<TopicRun> {
  const n = tokens.length;
  const topics = Math.max(1, Math.ceil(n / settings.topicSubscribers));
  const run: TopicRun = { subscribers: settings.topicSubscribers, topics };
  try {
    await withVariantProcesses(variant, settings, async (server, load) => {
      const {
        ports: [port],
        path,
      } = server;
      const subscriptions = tokens.map((_, i) => [ONE_TOPIC, topicName(topicOf(i, topics))]);
      const connect = await load.request<ConnectReport>(
        {
          cmd: 'connect',
          port,
          path,
          tokens,
          topics: subscriptions,
          concurrency: settings.connectConcurrency,
          timeoutMs: settings.phaseTimeoutMs,
        },
        settings.phaseTimeoutMs + COMMAND_TIMEOUT_MS,
      );
      run.connect = connect;
      log(`topics: connected ${connect.connected}/${n}, each with 2 topics, in ${connect.elapsedMs.toFixed(0)} ms`);
      if (connect.connected < n)
        throw new Error(`only ${connect.connected}/${n} streams opened: ${connect.errors.join('; ')}`);
      await sleep(500);
      run.serverConnections = await server.request<number>({ cmd: 'count' }, COMMAND_TIMEOUT_MS);

      const one: BroadcastRun[] = [];
      for (let round = 0; round < settings.repeats; round++) {
        await collectGarbage(server, load);
        const r = await oneTopicRound(server, load, settings);
        one.push(r);
        log(`one topic of ${n} ${round + 1}: ${r.phase.delivered}/${r.phase.expected} in ${r.fanOutMs.toFixed(0)} ms`);
      }
      run.one = summarise(one, (r) => r.fanOutMs);

      const many: TargetedRun[] = [];
      for (let round = 0; round < settings.repeats; round++) {
        await collectGarbage(server, load);
        const r = await manyTopicsRound(server, load, settings, n, topics, settings.seed + round);
        many.push(r);
        log(
          `${topics} topics of ${settings.topicSubscribers} ${round + 1}: ${r.phase.delivered}/${r.phase.expected} in ${r.elapsedMs.toFixed(0)} ms` +
            (r.send.capped ? ` (time cap: ${r.send.sent} of ${settings.topicPublishes} sent, not repeated)` : ''),
        );
        if (r.send.capped) break;
      }
      run.many = summarise(many, (r) => r.elapsedMs);
    });
  } catch (err) {
    run.error = (err as Error).message.split('\n')[0];
    log(`topics FAILED: ${run.error}`);
  }
  return run;
}
