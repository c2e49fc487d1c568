import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

import { sleep } from '../shared/clock.js';
import { freePort } from './free-port.js';

/**
 * A redis-server of one's own: a free loopback port, nothing kept on disk. The
 * benchmark's cluster variants run on one; the e2e tests' helper
 * (test/support/redis-server.ts) builds its restartable server on `launchRedisServer`.
 */
export interface BenchRedis {
  readonly url: string;
  /** Kills it (its data is gone) and resolves once it exited. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

/** Every redis-server still running, so that any way the process exits takes them down with it. */
const live = new Set<ChildProcess>();
let killedOnExit = false;

/** Whether `redis-server` can be run here (the cluster variants are skipped with a notice when not). */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts a private redis-server, never the machine's shared one: each cluster
 * variant's run starts from an empty Redis, and nothing else's keys or load is in it.
 */
export async function startRedisServer(): Promise<BenchRedis> {
  const port = await freePort();
  return { url: `redis://127.0.0.1:${port}`, stop: (await launchRedisServer(port)).stop };
}

/**
 * Runs redis-server on `port` (loopback, no persistence unless `extraArgs` turn it on: they come last,
 * so they override); resolves once it answers PING, with the way to stop it.
 */
export async function launchRedisServer(
  port: number,
  extraArgs: readonly string[] = [],
): Promise<Pick<BenchRedis, 'stop'>> {
  if (!killedOnExit) {
    killedOnExit = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    ...extraArgs,
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => (live.delete(child), resolve())));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    // Let go of the pipe too, so nothing of the server holds its parent (a jest worker) up.
    child.stderr.destroy();
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null)
      throw new Error(`redis-server on port ${port} exited (${child.exitCode}): ${stderr.trim()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer on port ${port} within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`);
    }
    await sleep(25);
  }
  return { stop };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}
