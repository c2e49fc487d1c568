import type { Child } from '../shared/ipc.js';
import { ONE_TOPIC, topicOf } from '../shared/payload.js';
import type { BenchPayload, MemoryReport, PhaseReport, SendReport, ServerCommand } from '../shared/protocol.js';
import type { BroadcastRun, TargetedRun } from './result.js';
import type { ServerHandle } from './server-group.js';
import type { BenchSettings } from './settings.js';

export const COMMAND_TIMEOUT_MS = 15_000;

/** Ends a variant's processes: the server closes the streams first, so TIME_WAIT stays off the client's ports. */
export async function stopProcesses(server: ServerHandle, load: Child | undefined): Promise<void> {
  await server.request({ cmd: 'stop' }, COMMAND_TIMEOUT_MS).catch(() => undefined);
  await server.stop(COMMAND_TIMEOUT_MS);
  if (load) {
    await load.request({ cmd: 'close' }, COMMAND_TIMEOUT_MS).catch(() => undefined);
    await load.stop(COMMAND_TIMEOUT_MS);
  }
}

/** Both processes collect garbage, so no phase pays for the previous one's. */
export async function collectGarbage(server: ServerHandle, load: Child): Promise<void> {
  await Promise.all([
    server.request<MemoryReport>({ cmd: 'memory' }, COMMAND_TIMEOUT_MS),
    load.request({ cmd: 'gc' }, COMMAND_TIMEOUT_MS),
  ]);
}

/** Events back to back (to everyone, or to one topic every stream is in): the time until every client had every one. */
async function burstRound(
  server: ServerHandle,
  load: Child,
  phase: BenchPayload['k'],
  command: ServerCommand,
  settings: BenchSettings,
): Promise<BroadcastRun> {
  await load.request({ cmd: 'arm', phase }, COMMAND_TIMEOUT_MS);
  const send = await server.request<SendReport>(command, settings.phaseTimeoutMs);
  const report = await load.request<PhaseReport>(
    { cmd: 'await', expectedPerClient: send.sent, timeoutMs: settings.phaseTimeoutMs },
    settings.phaseTimeoutMs + COMMAND_TIMEOUT_MS,
  );
  const fanOutMs = report.lastReceivedAt - send.startedAt;
  return { send, phase: report, fanOutMs, deliveriesPerSec: (report.delivered / fanOutMs) * 1000 };
}

/** Events to targets drawn at random (users, or topics), batched: the time until the last arrived. */
async function spreadRound(
  server: ServerHandle,
  load: Child,
  phase: BenchPayload['k'],
  command: ServerCommand,
  perClient: (send: SendReport) => number[],
  settings: BenchSettings,
  sendingMs = settings.targetedTimeCapMs,
): Promise<TargetedRun> {
  await load.request({ cmd: 'arm', phase }, COMMAND_TIMEOUT_MS);
  const reply = await server.request<SendReport>(command, sendingMs + settings.phaseTimeoutMs);
  const { perUser, perTopic, ...send } = reply;
  const report = await load.request<PhaseReport>(
    { cmd: 'await', expectedPerClient: perClient(reply), timeoutMs: settings.phaseTimeoutMs },
    settings.phaseTimeoutMs + COMMAND_TIMEOUT_MS,
  );
  const elapsedMs = report.lastReceivedAt - send.startedAt;
  return { send, phase: report, elapsedMs, eventsPerSec: (report.delivered / elapsedMs) * 1000 };
}

export function broadcastRound(server: ServerHandle, load: Child, settings: BenchSettings): Promise<BroadcastRun> {
  return burstRound(
    server,
    load,
    'b',
    { cmd: 'broadcast', count: settings.broadcastEvents, bytes: settings.eventBytes },
    settings,
  );
}

export function targetedRound(
  server: ServerHandle,
  load: Child,
  settings: BenchSettings,
  users: number,
  seed: number,
): Promise<TargetedRun> {
  const command: ServerCommand = {
    cmd: 'targeted',
    count: settings.targetedEvents,
    users,
    bytes: settings.eventBytes,
    batch: settings.targetedBatch,
    timeCapMs: settings.targetedTimeCapMs,
    seed,
  };
  return spreadRound(server, load, 't', command, (send) => send.perUser ?? [], settings);
}

/**
 * Targeted at a steady rate (the cluster's latency target): the burst above measures
 * how fast a queue drains, this what one event's path costs when nothing queues.
 */
export function pacedRound(
  server: ServerHandle,
  load: Child,
  settings: BenchSettings,
  users: number,
  seed: number,
): Promise<TargetedRun> {
  const command: ServerCommand = {
    cmd: 'paced',
    count: settings.pacedEvents,
    users,
    bytes: settings.eventBytes,
    rate: settings.pacedRate,
    seed,
  };
  const sendingMs = (settings.pacedEvents / settings.pacedRate) * 1000;
  return spreadRound(server, load, 'p', command, (send) => send.perUser ?? [], settings, sendingMs);
}

/** Shape (a): events to the one topic all N streams are in. */
export function oneTopicRound(server: ServerHandle, load: Child, settings: BenchSettings): Promise<BroadcastRun> {
  const command: ServerCommand = {
    cmd: 'publishOne',
    topic: ONE_TOPIC,
    count: settings.topicEvents,
    bytes: settings.eventBytes,
  };
  return burstRound(server, load, 'o', command, settings);
}

/** Shape (b): events to topics drawn at random among `topics`, each with N / topics streams (`topicOf`). */
export function manyTopicsRound(
  server: ServerHandle,
  load: Child,
  settings: BenchSettings,
  clients: number,
  topics: number,
  seed: number,
): Promise<TargetedRun> {
  const command: ServerCommand = {
    cmd: 'publishMany',
    count: settings.topicPublishes,
    topics,
    bytes: settings.eventBytes,
    batch: settings.targetedBatch,
    timeCapMs: settings.targetedTimeCapMs,
    seed,
  };
  const perClient = (send: SendReport) =>
    Array.from({ length: clients }, (_, i) => send.perTopic?.[topicOf(i, topics)] ?? 0);
  return spreadRound(server, load, 'm', command, perClient, settings);
}
