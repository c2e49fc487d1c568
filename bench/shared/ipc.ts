import { type ChildProcess, fork } from 'node:child_process';

import type { IpcRequest, IpcResponse } from './protocol.js';

/** Every child still alive, so that any way the runner exits takes them down with it. */
const live = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** A child process driven by request/response messages, each bounded in time. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: string | undefined;
  private readonly firstMessage: Promise<unknown>;

  constructor(
    readonly name: string,
    private readonly process: ChildProcess,
  ) {
    live.add(process);
    let ready: (v: unknown) => void;
    let failed: (e: Error) => void;
    this.firstMessage = new Promise((resolve, reject) => ((ready = resolve), (failed = reject)));
    this.firstMessage.catch(() => undefined);
    process.on('message', (raw) => {
      const msg = raw as IpcResponse | { ready: unknown };
      if ('ready' in msg) return ready(msg.ready);
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.ok) waiter.resolve(msg.result);
      else waiter.reject(new Error(`${name}: ${msg.error}`));
    });
    process.on('exit', (code, signal) => {
      live.delete(process);
      this.exited = `${name} exited (code ${code}, signal ${signal})`;
      failed(new Error(this.exited));
      for (const waiter of this.pending.values()) waiter.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  /** Resolves with what the child announced once it was ready to take commands. */
  ready<T>(timeoutMs: number): Promise<T> {
    return withTimeout(this.firstMessage as Promise<T>, timeoutMs, `${this.name}: not ready`);
  }

  request<T>(body: unknown, timeoutMs: number): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    const reply = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.process.send({ id, body } satisfies IpcRequest<unknown>);
    const cmd = (body as { cmd?: string }).cmd ?? '?';
    return withTimeout(reply, timeoutMs, `${this.name}: '${cmd}' took longer than ${timeoutMs} ms`).finally(() =>
      this.pending.delete(id),
    );
  }

  /** Waits for a graceful exit, then kills. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

export function spawnChild(
  name: string,
  entry: string,
  args: string[],
  { env = {}, execArgv = [] }: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {},
): Child {
  const child = fork(entry, args, {
    execArgv: ['--expose-gc', ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Child(name, child);
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Child side: answers each request with the handler's result. A child whose
 * parent is gone exits, so no server or client outlives the run.
 */
export function serveCommands<C>(handler: (command: C) => Promise<unknown>, ready: unknown): void {
  if (!process.send) throw new Error('This process must be started by the benchmark runner (no IPC channel)');
  process.on('disconnect', () => process.exit(1));
  process.on('message', (raw) => {
    const { id, body } = raw as IpcRequest<C>;
    handler(body).then(
      (result) => process.send?.({ id, ok: true, result } satisfies IpcResponse),
      (err: unknown) =>
        process.send?.({ id, ok: false, error: String((err as Error)?.stack ?? err) } satisfies IpcResponse),
    );
  });
  process.send({ ready });
}
