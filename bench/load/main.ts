import { readFileSync } from 'node:fs';

import { now } from '../shared/clock.js';
import { serveCommands, withTimeout } from '../shared/ipc.js';
import type { ConnectReport, LoadCommand, PhaseReport } from '../shared/protocol.js';
import { SseConnection } from './sse-connection.js';
import { runStorm } from './storm.js';
import { PhaseTally } from './tally.js';

/**
 * The load generator: its own process, so its CPU time is not the server's.
 * It opens the streams, then counts and times what arrives on them, phase by phase.
 */
const connections: SseConnection[] = [];
let tally: PhaseTally | undefined;
let waiter: { target: number; done: () => void } | undefined;

function onData(client: number, data: string): void {
  if (!tally) return;
  tally.record(client, data, now());
  if (waiter && tally.delivered >= waiter.target) waiter.done();
}

/** The soft open-file limit of this process (Linux), or undefined where it cannot be read. */
function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === 'unlimited' ? Infinity : Number(soft) || undefined;
  } catch {
    return undefined;
  }
}

/** Sockets plus what node itself keeps open. */
function assertEnoughFiles(streams: number): string {
  const limit = openFileLimit();
  if (limit !== undefined && limit < streams + 64) {
    throw new Error(
      `open-file limit is ${limit}, too low for ${streams} streams: run 'ulimit -n ${streams + 1024}' ` +
        `(bench/run.sh raises it to the hard limit, 'ulimit -Hn')`,
    );
  }
  return limit === undefined ? 'unknown' : String(limit);
}

/** `&topic=…` for each topic, the repeatable query parameter every topic variant's route reads. */
function topicQuery(topics: readonly string[] | undefined): string {
  return topics ? topics.map((topic) => `&topic=${encodeURIComponent(topic)}`).join('') : '';
}

function connectAll(command: Extract<LoadCommand, { cmd: 'connect' }>): Promise<ConnectReport> {
  const fdLimit = assertEnoughFiles(command.tokens.length);
  const total = command.tokens.length;
  const startedAt = now();
  const errors: string[] = [];
  let next = 0;
  let opened = 0;
  let failed = 0;
  let lastOpenAt = startedAt;

  return new Promise((resolve) => {
    const timer = setTimeout(() => settle(), command.timeoutMs);
    const settle = () => {
      clearTimeout(timer);
      resolve({ connected: opened, failed: total - opened, errors, elapsedMs: lastOpenAt - startedAt, fdLimit });
    };
    // Bounded concurrency: a stream in flight is replaced once it opens or fails.
    const launch = () => {
      if (next >= total) return;
      const client = next++;
      let pending = true;
      const settled = () => {
        pending = false;
        if (opened + failed === total) settle();
        else launch();
      };
      const query = `token=${command.tokens[client]}${topicQuery(command.topics?.[client])}`;
      const port = command.ports?.length ? command.ports[client % command.ports.length] : command.port;
      connections[client] = new SseConnection(port, `${command.path}?${query}`, {
        onOpen: () => {
          opened++;
          lastOpenAt = now();
          settled();
        },
        onData: (data) => onData(client, data),
        onClose: (reason) => {
          if (tally) tally.closed++;
          if (!pending) return;
          failed++;
          if (errors.length < 5) errors.push(reason ?? 'closed');
          settled();
        },
      });
    };
    for (let i = 0; i < Math.min(command.concurrency, total); i++) launch();
  });
}

async function awaitPhase(expectedPerClient: number | number[], timeoutMs: number): Promise<PhaseReport> {
  const current = tally;
  if (!current) throw new Error("'await' before 'arm'");
  const target =
    typeof expectedPerClient === 'number'
      ? expectedPerClient * connections.length
      : expectedPerClient.reduce((a, b) => a + b, 0);
  let timedOut = false;
  if (current.delivered < target) {
    const all = new Promise<void>((resolve) => (waiter = { target, done: resolve }));
    await withTimeout(all, timeoutMs, 'timeout').catch(() => (timedOut = true));
    waiter = undefined;
  }
  return current.report(expectedPerClient, timedOut);
}

async function handle(command: LoadCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'connect':
      return connectAll(command);
    case 'storm':
      return runStorm(command, connections, assertEnoughFiles(command.tokens.length));
    case 'arm':
      tally = new PhaseTally(command.phase, connections.length);
      return null;
    case 'await':
      return awaitPhase(command.expectedPerClient, command.timeoutMs);
    case 'gc':
      global.gc?.();
      return null;
    case 'close':
      for (const c of connections) c?.destroy();
      setImmediate(() => process.exit(0));
      return null;
  }
}

serveCommands(handle, true);
