import net from 'node:net';

import { SseModule, SseService, SseTopic, type SseTopicPolicy } from '@nest-sse/server';
import { SSE_METRICS_REGISTRY, SseMetricsModule } from '@nest-sse/server/metrics';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { createApp } from './support/nest-app.factory.js';
import { openRaw, rawGet, waitForCount } from './support/sse-client.js';

/** Anyone may join a room but `secret`. */
@SseTopic('rooms/:room')
class RoomTopic implements SseTopicPolicy<{ room: string }> {
  canSubscribe(_user: unknown, { room }: { room: string }): boolean {
    return room !== 'secret';
  }
}

const KB = 'x'.repeat(1000);

/**
 * Prometheus' text exposition format, strictly: every family has one HELP and one TYPE line
 * before its samples, samples are `name{label="value",...} number` of that family
 * (`_bucket`/`_sum`/`_count` for a histogram), and each sample appears once.
 */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const help = new Set<string>();
  const types = new Map<string, string>();
  let family: string | undefined;
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (m) {
      expect(help.has(m[1])).toBe(false);
      help.add((family = m[1]!));
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      expect(m[1]).toBe(family);
      types.set(m[1], m[2]);
      continue;
    }
    m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"(?:,(?!\}))?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\+Inf|NaN))$/.exec(
        line,
      );
    if (!m) throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    const [, name, labels = '', value] = m;
    expect(family && types.has(family)).toBeTruthy();
    const suffixes = types.get(family!) === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
    expect(suffixes.map((s) => family + s)).toContain(name);
    const key = name + labels;
    expect(samples.has(key)).toBe(false);
    samples.set(key, Number(value));
  }
  return samples;
}

describe('metrics (@nest-sse/server/metrics) after a scripted sequence', () => {
  let server: RunningApp;
  let sse: SseService;
  let registry: Registry;
  const url = (user: string, query = '', claims?: Record<string, unknown>) =>
    `${server.baseUrl}/api/events?token=${signToken(user, claims)}${query}`;

  beforeAll(async () => {
    registry = new Registry();
    @Module({
      imports: [
        SseModule.forRoot({
          jwt: { secret: TEST_SECRET },
          heartbeatIntervalMs: 0,
          maxConnections: 3,
          maxConnectionsPerUser: 1,
        }),
        SseMetricsModule.forRoot({ registry }),
      ],
      providers: [RoomTopic],
    })
    class MetricsApp {}
    const moduleRef = await Test.createTestingModule({ imports: [MetricsApp] }).compile();
    server = await listen(createApp(moduleRef, { logger: false }));
    sse = server.app.get(SseService);
  });
  afterAll(() => server.close());

  it('reads exactly what happened, the same figures as SseService.stats(), and prints them in the text format', async () => {
    expect(server.app.get(SSE_METRICS_REGISTRY)).toBe(registry);

    // Three streams: alice in a room, bob, carol with a token that expires in 2 s.
    const alice = await openRaw(url('alice', '&topic=rooms/lobby'));
    const bob = await openRaw(url('bob'));
    const carol = await openRaw(url('carol', '', { exp: Math.floor(Date.now() / 1000) + 2 }));
    await waitForCount(() => sse.connectionCount(), 3);

    // Refusals: a bad token (401), a refused topic (403), alice's second stream (429), past maxConnections (200 + hint).
    expect((await rawGet(`${server.baseUrl}/api/events?token=nope`)).status).toBe(401);
    expect((await rawGet(url('bob2', '&topic=rooms/secret'))).status).toBe(403);
    expect((await rawGet(url('alice'))).status).toBe(429);
    expect((await rawGet(url('dave'), {}, 5000)).body).toMatch(/server at capacity/);

    // One send of each target kind, two types: 1 + 2 + 3 + 1 frames.
    expect(sse.sendToUser('alice', { type: 'note', data: 1 })).toBe(1);
    expect(sse.sendToUsers(['alice', 'bob'], { type: 'note', data: 2 })).toBe(2);
    expect(sse.broadcast({ type: 'update', data: 3 })).toBe(3);
    expect(sse.publish('rooms/lobby', { type: 'update', data: 4 })).toBe(1);
    await waitForCount(() => (alice.body().includes('data: 4') ? 1 : 0), 1);
    const aliceLastId = /^id: (\S+)$/gm.exec(alice.body().split('data: 4')[0].split('event: update').pop()!)![1];

    // carol's token expires (auth-expired, then the end); bob is disconnected.
    await carol.ended;
    expect(carol.body()).toMatch(/event: auth-expired/);
    expect(sse.disconnectUser('bob')).toBe(1);
    await bob.ended;

    // A client that stops reading is dropped by the sink (256 KiB by default... far past it here).
    const socket = net.connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    socket.write(`GET /api/events?token=${signToken('slow')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => socket.once('data', r));
    socket.pause();
    await waitForCount(() => sse.connectionCount('slow'), 1);
    let fills = 0;
    let reached = 0;
    while (sse.connectionCount('slow') > 0 && fills < 40_000) {
      for (let i = 0; i < 500; i++, fills++) reached += sse.sendToUser('slow', { type: 'fill', data: KB });
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitForCount(() => sse.connectionCount('slow'), 0);
    socket.destroy();

    // alice leaves, misses two events, and resumes: both replayed. erin's id is not one of ours: a reset.
    alice.destroy();
    await waitForCount(() => sse.connectionCount('alice'), 0);
    sse.sendToUser('alice', { type: 'note', data: 5 });
    sse.sendToUser('alice', { type: 'note', data: 6 });
    const resumed = await openRaw(url('alice', '&topic=rooms/lobby'), { 'last-event-id': aliceLastId });
    const erin = await openRaw(url('erin'), { 'last-event-id': 'x' });
    await waitForCount(() => (resumed.body().includes('data: 6') ? 1 : 0), 1);
    await waitForCount(() => (erin.body().includes('event: reset') ? 1 : 0), 1);

    const expected = {
      openStreams: 2,
      connectedUsers: 2,
      liveTopics: 1,
      refused: {
        unauthorized: 1,
        forbidden: 1,
        bad_request: 0,
        per_user_limit: 1,
        global_cap: 1,
        shutting_down: 0,
        unavailable: 0,
      },
      published: {
        byType: { note: 4, update: 2, fill: fills },
        byTarget: { user: 3 + fills, users: 1, broadcast: 1, topic: 1 },
      },
      // Openings (alice, bob, carol, slow, alice again, erin), 7 live, auth-expired, what reached slow, 2 replayed, erin's reset.
      framesWritten: 6 + 7 + 1 + reached + 2 + 1,
      eventsReplayed: 2,
      resets: {
        'malformed-id': 1,
        'unknown-id': 0,
        'too-old': 0,
        'history-disabled': 0,
        'history-unavailable': 0,
        'history-lost': 0,
      },
      disconnects: { client_left: 1, token_expired: 1, slow_client: 1, disconnect_user: 1, shutdown: 0 },
    };
    const stats = sse.stats();
    const { publishToWrite, ...figures } = stats;
    expect(figures).toEqual(expected);
    // Live frames only (7 and what reached slow): replays are not timed. Where each fell depends on the
    // machine (a write to the stalled client can take more than a ms): the counts are exact, the buckets cumulative.
    const live = 7 + reached;
    const les = [
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ];
    expect(Object.keys(publishToWrite.buckets).sort()).toEqual([...les].sort());
    const cumulative = les.map((le) => publishToWrite.buckets[le]);
    expect(cumulative).toEqual([...cumulative].sort((a, b) => a - b));
    expect(publishToWrite.count).toBe(live);
    expect(publishToWrite.buckets['+Inf']).toBe(live);
    expect(publishToWrite.buckets['0.1']).toBeGreaterThan(0);
    expect(publishToWrite.sum).toBeGreaterThanOrEqual(0);
    expect(publishToWrite.sum).toBeLessThan(live * 0.1);

    // The registry's JSON: every metric, every label, exactly.
    const json = await registry.getMetricsAsJSON();
    const read = (name: string) => {
      const metric = json.find((m) => m.name === name);
      if (!metric) throw new Error(`no ${name}`);
      return metric.values.map(({ labels, value, ...rest }) => ({
        ...('metricName' in rest && rest.metricName !== name ? { metricName: rest.metricName } : {}),
        labels,
        value,
      }));
    };
    const byLabel = (label: string, counts: Record<string, number>) =>
      Object.entries(counts).map(([value, count]) => ({ labels: { [label]: value }, value: count }));
    expect(json.map((m) => [m.name, m.type])).toEqual([
      ['sse_open_streams', 'gauge'],
      ['sse_connected_users', 'gauge'],
      ['sse_live_topics', 'gauge'],
      ['sse_connections_refused_total', 'counter'],
      ['sse_events_published_total', 'counter'],
      ['sse_events_published_by_type_total', 'counter'],
      ['sse_frames_written_total', 'counter'],
      ['sse_events_replayed_total', 'counter'],
      ['sse_resets_total', 'counter'],
      ['sse_disconnects_total', 'counter'],
      ['sse_publish_to_write_seconds', 'histogram'],
    ]);
    expect(read('sse_open_streams')).toEqual([{ labels: {}, value: 2 }]);
    expect(read('sse_connected_users')).toEqual([{ labels: {}, value: 2 }]);
    expect(read('sse_live_topics')).toEqual([{ labels: {}, value: 1 }]);
    expect(read('sse_connections_refused_total')).toEqual(byLabel('reason', expected.refused));
    expect(read('sse_events_published_total')).toEqual(byLabel('target', expected.published.byTarget));
    expect(read('sse_events_published_by_type_total')).toEqual(byLabel('type', expected.published.byType));
    expect(read('sse_frames_written_total')).toEqual([{ labels: {}, value: expected.framesWritten }]);
    expect(read('sse_events_replayed_total')).toEqual([{ labels: {}, value: 2 }]);
    expect(read('sse_resets_total')).toEqual(byLabel('reason', expected.resets));
    expect(read('sse_disconnects_total')).toEqual(byLabel('reason', expected.disconnects));
    expect(read('sse_publish_to_write_seconds')).toEqual([
      ...[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map((le) => ({
        metricName: 'sse_publish_to_write_seconds_bucket',
        labels: { le },
        value: publishToWrite.buckets[String(le)],
      })),
      { metricName: 'sse_publish_to_write_seconds_bucket', labels: { le: '+Inf' }, value: live },
      { metricName: 'sse_publish_to_write_seconds_sum', labels: {}, value: publishToWrite.sum },
      { metricName: 'sse_publish_to_write_seconds_count', labels: {}, value: live },
    ]);

    // The text a scrape gets: valid exposition, the same numbers.
    const samples = parseExposition(await registry.metrics());
    expect(samples.get('sse_open_streams')).toBe(2);
    expect(samples.get('sse_connections_refused_total{reason="global_cap"}')).toBe(1);
    expect(samples.get('sse_events_published_total{target="user"}')).toBe(3 + fills);
    expect(samples.get('sse_events_published_by_type_total{type="fill"}')).toBe(fills);
    expect(samples.get('sse_frames_written_total')).toBe(expected.framesWritten);
    expect(samples.get('sse_disconnects_total{reason="slow_client"}')).toBe(1);
    expect(samples.get('sse_disconnects_total{reason="token_expired"}')).toBe(1);
    expect(samples.get('sse_publish_to_write_seconds_bucket{le="0.005"}')).toBe(publishToWrite.buckets['0.005']);
    expect(samples.get('sse_publish_to_write_seconds_bucket{le="+Inf"}')).toBe(live);
    expect(samples.get('sse_publish_to_write_seconds_count')).toBe(live);
    // Gauges, refusals, targets, types, frames, replays, the 6 reset reasons, disconnects, the histogram's samples.
    expect(samples.size).toBe(3 + 7 + 4 + 3 + 1 + 1 + 6 + 5 + 16);

    resumed.destroy();
    erin.destroy();
  });
});

describe('metrics: a registry of its own, a prefix, and none in the global one', () => {
  it("forRootAsync({ useFactory }) registers into a new registry with the prefix; prom-client's global registry stays empty; closing removes them", async () => {
    const { register } = await import('prom-client');
    @Module({
      imports: [
        SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 }),
        SseMetricsModule.forRootAsync({ useFactory: () => ({ prefix: 'app_sse_' }) }),
      ],
    })
    class OwnRegistryApp {}
    const moduleRef = await Test.createTestingModule({ imports: [OwnRegistryApp] }).compile();
    const server = await listen(createApp(moduleRef, { logger: false }));
    const own = server.app.get<Registry>(SSE_METRICS_REGISTRY);
    expect(own).toBeInstanceOf(Registry);
    expect(own).not.toBe(register);
    const stream = await openRaw(`${server.baseUrl}/api/events?token=${signToken('u')}`);
    await waitForCount(() => server.app.get(SseService).connectionCount(), 1);
    const samples = parseExposition(await own.metrics());
    expect(samples.get('app_sse_open_streams')).toBe(1);
    expect([...samples.keys()].every((key) => key.startsWith('app_sse_'))).toBe(true);
    expect(await register.getMetricsAsJSON()).toEqual([]);
    stream.destroy();
    await server.close();
    expect(await own.getMetricsAsJSON()).toEqual([]);
  });
});
