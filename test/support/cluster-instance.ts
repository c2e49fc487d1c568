import { type ChildProcess, spawn } from 'node:child_process';

import { freePort } from './cluster-ports.js';

/** Settings of an instance of test/support/cluster-app.main.ts (its environment). */
export interface ClusterInstanceOptions {
  name: string;
  redisUrl: string;
  jwtSecret: string;
  slotTtlMs: number;
  slotRefreshMs: number;
  maxPendingPublishes: number;
  /** Events kept per user (and per topic, and of broadcasts) for replay. */
  historyMaxEvents: number;
  heartbeatMs: number;
  retryMs: number;
  /** More of the app's environment (say `REDIS_KEY_PREFIX`, `TICKET_STORE`). */
  env?: Record<string, string>;
}

/** What `/test/send` answers: the count, or the refusal's name and message. */
export type SendResult = { ok: true; reached: number } | { ok: false; error: string; message: string };

/** Who an event is for, as `/test/send` takes it. */
export type SendAudience = { userId: string } | { userIds: string[] } | { topic: string } | { all: true };

/**
 * One app instance as its own process, on a port it keeps across restarts (so
 * the balancer's configuration stays right), with the control surface of
 * cluster-app.main.ts called directly on that port.
 */
export class ClusterInstance {
  private child?: ChildProcess;
  private exited?: Promise<string>;
  private text = '';

  private constructor(
    private readonly main: string,
    readonly port: number,
    private readonly options: ClusterInstanceOptions,
  ) {}

  static async start(main: string, options: ClusterInstanceOptions): Promise<ClusterInstance> {
    const instance = new ClusterInstance(main, await freePort(), options);
    await instance.spawn();
    return instance;
  }

  get name(): string {
    return this.options.name;
  }

  /** Everything the process printed, across restarts. */
  output(): string {
    return this.text;
  }

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async send(audience: SendAudience, type: string, data: unknown): Promise<SendResult> {
    const res = await fetch(`${this.base}/test/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...audience, type, data }),
      signal: AbortSignal.timeout(5000),
    });
    if (res.status !== 200) throw new Error(`${this.name}: /test/send answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as SendResult;
  }

  /** Sends and expects it taken: a refusal is the test's failure, with the transport's message. */
  async sendOk(audience: SendAudience, type: string, data: unknown): Promise<number> {
    const result = await this.send(audience, type, data);
    if (!result.ok) throw new Error(`${this.name} refused the send: ${result.error}: ${result.message}`);
    return result.reached;
  }

  /** This instance's open streams of the user (or of everyone). */
  async count(userId?: string): Promise<number> {
    const query = userId === undefined ? '' : `?userId=${encodeURIComponent(userId)}`;
    const res = await fetch(`${this.base}/test/count${query}`, { signal: AbortSignal.timeout(5000) });
    return ((await res.json()) as { local: number }).local;
  }

  /** Ends the user's streams on this instance; resolves with how many there were. */
  async disconnect(userId: string): Promise<number> {
    const res = await fetch(`${this.base}/test/disconnect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
      signal: AbortSignal.timeout(5000),
    });
    return ((await res.json()) as { ended: number }).ended;
  }

  /** Sends the signal and waits (bounded) for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (!this.running()) return;
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stopped (SIGTERM) if running, then started again on the same port. */
  async restart(): Promise<void> {
    await this.kill('SIGTERM');
    await this.spawn();
  }

  /** Starts it again if a test left it stopped. */
  async ensureRunning(): Promise<void> {
    if (!this.running()) await this.spawn();
  }

  private get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async spawn(): Promise<void> {
    const o = this.options;
    const child = spawn(process.execPath, [this.main], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        PORT: String(this.port),
        JWT_SECRET: o.jwtSecret,
        REDIS_URL: o.redisUrl,
        SLOT_TTL_MS: String(o.slotTtlMs),
        SLOT_REFRESH_MS: String(o.slotRefreshMs),
        MAX_PENDING_PUBLISHES: String(o.maxPendingPublishes),
        HISTORY_MAX_EVENTS: String(o.historyMaxEvents),
        HEARTBEAT_MS: String(o.heartbeatMs),
        SSE_RETRY_MS: String(o.retryMs),
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const mark = this.text.length;
    child.stdout.on('data', (d) => (this.text += d));
    child.stderr.on('data', (d) => (this.text += d));
    this.exited = new Promise<string>((resolve) =>
      child.on('exit', (code, signal) => {
        this.text += `\n[${this.name} exited: ${signal ?? `code ${code}`}]\n`;
        resolve(signal ?? `code ${code}`);
      }),
    );
    const deadline = Date.now() + 20_000;
    while (!this.text.slice(mark).includes(`listening on ${this.port}`)) {
      if (!this.running() || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`instance ${this.name} did not start: ${this.text.slice(mark)}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
