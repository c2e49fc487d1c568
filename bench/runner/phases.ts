import type { Child } from '../shared/ipc.js';
import type { MemoryReport, PhaseReport, SendReport } from '../shared/protocol.js';
import type { BenchSettings } from './settings.js';
import type { BroadcastRun, TargetedRun } from './result.js';

export const COMMAND_TIMEOUT_MS = 15_000;

/** Ends a variant's processes: the server closes the streams first, so TIME_WAIT stays off the client's ports. */
export async function stopProcesses(server: Child, load: Child | undefined): Promise<void> {
  await server.request({ cmd: 'stop' }, COMMAND_TIMEOUT_MS).catch(() => undefined);
  await server.stop(COMMAND_TIMEOUT_MS);
  if (load) {
    await load.request({ cmd: 'close' }, COMMAND_TIMEOUT_MS).catch(() => undefined);
    await load.stop(COMMAND_TIMEOUT_MS);
  }
}

/** Both processes collect garbage, so no phase pays for the previous one's. */
export async function collectGarbage(server: Child, load: Child): Promise<void> {
  await Promise.all([
    server.request<MemoryReport>({ cmd: 'memory' }, COMMAND_TIMEOUT_MS),
    load.request({ cmd: 'gc' }, COMMAND_TIMEOUT_MS),
  ]);
}

export async function broadcastRound(server: Child, load: Child, settings: BenchSettings): Promise<BroadcastRun> {
  await load.request({ cmd: 'arm', phase: 'b' }, COMMAND_TIMEOUT_MS);
  const send = await server.request<SendReport>(
    { cmd: 'broadcast', count: settings.broadcastEvents, bytes: settings.eventBytes },
    settings.phaseTimeoutMs,
  );
  const phase = await load.request<PhaseReport>(
    { cmd: 'await', expectedPerClient: send.sent, timeoutMs: settings.phaseTimeoutMs },
    settings.phaseTimeoutMs + COMMAND_TIMEOUT_MS,
  );
  const fanOutMs = phase.lastReceivedAt - send.startedAt;
  return { send, phase, fanOutMs, deliveriesPerSec: (phase.delivered / fanOutMs) * 1000 };
}

export async function targetedRound(
  server: Child,
  load: Child,
  settings: BenchSettings,
  users: number,
  seed: number,
): Promise<TargetedRun> {
  await load.request({ cmd: 'arm', phase: 't' }, COMMAND_TIMEOUT_MS);
  const { perUser, ...send } = await server.request<SendReport>(
    {
      cmd: 'targeted',
      count: settings.targetedEvents,
      users,
      bytes: settings.eventBytes,
      batch: settings.targetedBatch,
      timeCapMs: settings.targetedTimeCapMs,
      seed,
    },
    settings.targetedTimeCapMs + settings.phaseTimeoutMs,
  );
  const phase = await load.request<PhaseReport>(
    { cmd: 'await', expectedPerClient: perUser ?? [], timeoutMs: settings.phaseTimeoutMs },
    settings.phaseTimeoutMs + COMMAND_TIMEOUT_MS,
  );
  const elapsedMs = phase.lastReceivedAt - send.startedAt;
  return { send, phase, elapsedMs, eventsPerSec: (phase.delivered / elapsedMs) * 1000 };
}
