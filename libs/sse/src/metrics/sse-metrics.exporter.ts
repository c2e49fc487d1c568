import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

import { SseStatsCollector } from '../observe/sse-stats.collector.js';
import { SseService } from '../sse.service.js';
import { DEFAULT_SSE_METRICS_PREFIX, SSE_METRICS_REGISTRY } from './sse-metrics.constants.js';
import { SSE_METRICS_MODULE_OPTIONS } from './sse-metrics.module-definition.js';
import type { SseMetricsOptions } from './sse-metrics-options.interface.js';
import { SsePublishToWriteMetric } from './sse-publish-to-write.metric.js';

/**
 * Puts the module's figures in the registry. Every metric reads the core's
 * counters when scraped (`collect()`), so nothing here runs on the hot path;
 * the one thing it turns on there is the timing of writes (a clock read per stream written to).
 */
@Injectable()
export class SseMetricsExporter implements OnModuleDestroy {
  private readonly names: string[] = [];

  constructor(
    @Inject(SSE_METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(SSE_METRICS_MODULE_OPTIONS) options: SseMetricsOptions,
    sse: SseService,
    private readonly stats: SseStatsCollector,
  ) {
    const prefix = options.prefix ?? DEFAULT_SSE_METRICS_PREFIX;
    const gauge = (name: string, help: string, read: () => number): void => {
      this.add(
        new Gauge({
          name: prefix + name,
          help,
          registers: [],
          collect() {
            this.set(read());
          },
        }),
      );
    };
    const counter = (name: string, help: string, read: () => number): void => {
      // A counter can only go up by inc(): each scrape starts it over from the core's total.
      this.add(
        new Counter({
          name: prefix + name,
          help,
          registers: [],
          collect() {
            this.reset();
            this.inc(read());
          },
        }),
      );
    };
    const counterBy = (name: string, help: string, label: string, read: () => Iterable<[string, number]>): void => {
      this.add(
        new Counter({
          name: prefix + name,
          help,
          labelNames: [label],
          registers: [],
          collect() {
            this.reset();
            for (const [value, count] of read()) this.inc({ [label]: value }, count);
          },
        }),
      );
    };

    gauge('open_streams', 'Streams open on this instance', () => sse.connectionCount());
    gauge('connected_users', 'Users with at least one stream open on this instance', () => sse.connectedUserCount());
    gauge('live_topics', 'Topics with at least one subscribed stream on this instance', () => sse.topicCount());
    counterBy('connections_refused_total', 'Streams refused, by reason', 'reason', () => Object.entries(stats.refused));
    // Each publish is counted once by target and once by type: two metrics, since one with both labels would pair them.
    counterBy('events_published_total', 'Events published, by target kind', 'target', () =>
      Object.entries(stats.byTarget),
    );
    counterBy('events_published_by_type_total', 'Events published, by event type', 'type', () => stats.byType);
    counter(
      'frames_written_total',
      'Frames handed to streams (events, openings, heartbeats, resets)',
      () => stats.framesWritten,
    );
    counter('events_replayed_total', 'Events sent to resuming streams from history', () => stats.eventsReplayed);
    counterBy(
      'resets_total',
      'Resets sent to streams (resuming ones, or every open one when history-lost), by reason',
      'reason',
      () => Object.entries(stats.resets),
    );
    counterBy('disconnects_total', 'Streams ended, by reason (slow_client: dropped; token_expired)', 'reason', () =>
      Object.entries(stats.disconnects),
    );
    this.add(new SsePublishToWriteMetric(`${prefix}publish_to_write_seconds`, stats));
    stats.timing = true;
  }

  /** Leaves the registry as it was: an app that is closed and made again with the same registry registers again. */
  onModuleDestroy(): void {
    this.stats.timing = false;
    for (const name of this.names) this.registry.removeSingleMetric(name);
  }

  private add(metric: Metric | SsePublishToWriteMetric): void {
    // A registry formats any metric from its get(); the cast is for prom-client's types, which list only its own classes.
    this.registry.registerMetric(metric as Metric);
    this.names.push((metric as { name: string }).name);
  }
}
