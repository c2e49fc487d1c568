import type { Aggregator, MetricValueWithName } from 'prom-client';

import { PUBLISH_TO_WRITE_BUCKETS, type SseStatsCollector } from '../observe/sse-stats.collector.js';

/**
 * The publish-to-write histogram, as a registry reads any metric (`get()`):
 * its buckets are counted by the core on the write path, and prom-client's
 * `Histogram` can only count observations itself, one `observe()` per write.
 * Printed as a `Histogram` would be: `_bucket{le}` cumulative, `_sum`, `_count`.
 */
export class SsePublishToWriteMetric {
  readonly type = 'histogram';
  readonly aggregator: Aggregator = 'sum';
  readonly help =
    'Time from an event published to its frame written to a stream, per stream (live events, not replays)';

  constructor(
    readonly name: string,
    private readonly stats: SseStatsCollector,
  ) {}

  // eslint-disable-next-line @typescript-eslint/require-await -- prom-client's registry expects get() to return a promise
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: Aggregator;
    values: MetricValueWithName<string>[];
  }> {
    const { buckets, count, sum } = this.stats.publishToWrite();
    const bucket = `${this.name}_bucket`;
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [
        ...PUBLISH_TO_WRITE_BUCKETS.map((le) => ({ labels: { le }, value: buckets[String(le)], metricName: bucket })),
        { labels: { le: '+Inf' }, value: count, metricName: bucket },
        { labels: {}, value: sum, metricName: `${this.name}_sum` },
        { labels: {}, value: count, metricName: `${this.name}_count` },
      ],
    };
  }

  /** The counts are the core's, since startup, like every other figure here: `registry.resetMetrics()` leaves them. */
  reset(): void {}
}
