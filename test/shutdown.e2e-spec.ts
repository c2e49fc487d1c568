import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';

import { SseModule, SseRoute, SseService } from '@nest-sse/server';
import { type CanActivate, Controller, Injectable, Module, Sse, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import jwt from 'jsonwebtoken';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { freshBuild } from './support/fresh-build.js';
import { connectH2, H2Stream } from './support/h2-stream.client.js';
import { startLibrary } from './support/library-app.js';
import { type AdapterName, ADAPTERS, createApp } from './support/nest-app.factory.js';
import { openRaw, rawGet, sleep, waitForCount } from './support/sse-client.js';

const SECRET = 'shutdown-test-secret';
const RETRY_MS = 1000;
const RETRY_JITTER_MS = 4000;
const SHUTDOWN_TIMEOUT_MS = 2000;
/** How long the revocation check of the user `slow` takes: it is in the guard when SIGTERM comes. */
const SLOW_REVOKE_MS = 300;
/** The process must be gone this long after SIGTERM at the latest: the hard timeout, plus time to exit. */
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 1500;
const OPEN_STREAMS = 8;

const token = (userId: string) => jwt.sign({ sub: userId }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A GET that reports its status and headers, or the error of a connection the server refused or dropped. */
function tryGet(url: string): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      resolve({ status: res.statusCode });
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

/** The app of test/support/shutdown-app.main.ts as its own process, compiled from the current sources. */
async function startApp(main: string, adapter: string) {
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      ADAPTER: adapter,
      JWT_SECRET: SECRET,
      SLOW_REVOKE_MS: String(SLOW_REVOKE_MS),
      SSE_RETRY_MS: String(RETRY_MS),
      SSE_RETRY_JITTER_MS: String(RETRY_JITTER_MS),
      SSE_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let exitedAt: number | undefined;
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => {
      exitedAt = Date.now();
      resolve(signal ?? `code ${code}`);
    }),
  );
  await waitFor(() => /listening on \d+/.test(output), 'the app to listen');
  const port = output.match(/listening on (\d+)/)![1];
  return {
    child,
    exited,
    exitedAt: () => exitedAt,
    output: () => output,
    url: (userId: string) => `http://127.0.0.1:${port}/api/events?token=${token(userId)}`,
  };
}

describe('shutdown of a real process (SIGTERM)', () => {
  let main: string;

  beforeAll(async () => {
    main = (await freshBuild(['test/support/shutdown-app.main.ts'])).path('test/support/shutdown-app.main.js');
  }, 120_000);

  describe.each(ADAPTERS)('on %s', (adapter) => {
    it(`ends open streams with retry hints spread over [retryMs, retryMs + retryJitterMs], gives no stream to a request inside the guard (503 with Retry-After) nor to one 20 ms later, and exits within ${EXIT_BOUND_MS} ms`, async () => {
      const app = await startApp(main, adapter);
      try {
        const streams = await Promise.all(
          Array.from({ length: OPEN_STREAMS }, (_, i) => openRaw(app.url(`open-${i}`))),
        );
        expect(streams.map((s) => s.status)).toEqual(Array(OPEN_STREAMS).fill(200));
        await waitFor(() => streams.every((s) => s.body().includes(': connected')), 'every stream to start');

        // Authenticated, but still in the (async) revocation check when the signal comes.
        const inGuard = rawGet(app.url('slow'), {}, EXIT_BOUND_MS);
        await waitFor(() => app.output().includes('revocation check: slow'), 'the request to reach the guard');

        const signalledAt = Date.now();
        app.child.kill('SIGTERM');
        await sleep(20);
        const late = await tryGet(app.url('late'));

        await Promise.all(streams.map((s) => s.ended));
        const hints = streams.map((s) => {
          // The opening frame says `retry: RETRY_MS`; the last frame is the hint, with its reason.
          const last = [...s.body().matchAll(/retry: (\d+)\n: server shutting down: reconnect later\n\n/g)];
          expect(last).toHaveLength(1);
          expect(s.body().endsWith(last[0][0])).toBe(true);
          return Number(last[0][1]);
        });
        for (const hint of hints) {
          expect(hint).toBeGreaterThanOrEqual(RETRY_MS);
          expect(hint).toBeLessThanOrEqual(RETRY_MS + RETRY_JITTER_MS);
        }
        // Jitter: 8 draws from 4,001 values; all but a rare collision are distinct.
        expect(new Set(hints).size).toBeGreaterThanOrEqual(OPEN_STREAMS - 2);

        const refused = await inGuard;
        expect(refused.status).toBe(503);
        expect(refused.ended).toBe(true);
        expect(JSON.parse(refused.body)).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
        const retryAfter = Number(refused.headers['retry-after']);
        expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil(RETRY_MS / 1000));
        expect(retryAfter).toBeLessThanOrEqual(Math.ceil((RETRY_MS + RETRY_JITTER_MS) / 1000));

        // 20 ms later the server has closed its port or answers 503: never a stream.
        expect(late.status === 503 || late.error !== undefined).toBe(true);

        expect(await Promise.race([app.exited, sleep(EXIT_BOUND_MS).then(() => 'still running')])).toBe('SIGTERM');
        expect(app.exitedAt()! - signalledAt).toBeLessThan(EXIT_BOUND_MS);
      } finally {
        app.child.kill('SIGKILL');
      }
    }, 30_000);
  });
});

/** Holds requests inside a guard until the test lets them through. */
class GuardGate {
  arrived = 0;
  private release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));

  async pass(): Promise<boolean> {
    this.arrived++;
    await this.released;
    return true;
  }

  open(): void {
    this.release();
  }
}

const gate = { current: new GuardGate() };

@Injectable()
class GatedGuard implements CanActivate {
  canActivate(): Promise<boolean> {
    return gate.current.pass();
  }
}

/** A user's own stream routes over `SseService.stream()`: with `@SseRoute()`, and with Nest's `@Sse()`. */
@Controller()
@UseGuards(GatedGuard)
class OwnRoutes {
  constructor(private readonly sse: SseService) {}

  @SseRoute('own/events')
  own() {
    return this.sse.stream('own-user');
  }

  @Sse('nest/events')
  nest() {
    return this.sse.stream('nest-user');
  }
}

async function startOwnRoutes(adapter: AdapterName): Promise<RunningApp> {
  @Module({
    imports: [
      SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, retryMs: 2000, retryJitterMs: 2000 }),
    ],
    controllers: [OwnRoutes],
    providers: [GatedGuard],
  })
  class OwnRoutesModule {}
  const moduleRef = await Test.createTestingModule({ imports: [OwnRoutesModule] }).compile();
  return listen(createApp(moduleRef, { adapter }));
}

describe.each(ADAPTERS)('shutdown in process, on %s', (adapter) => {
  // A request still in an async guard when app.close() begins: app.close() waits for it (its
  // connection is busy), then its handler asks SseService.stream() for a stream that must not open.
  it.each([
    ['@SseRoute()', 'own/events', true],
    ["Nest's @Sse()", 'nest/events', false],
  ])(
    'answers 503 to a stream of %s whose request was in the guard when shutdown began',
    async (_, path, retryAfter) => {
      gate.current = new GuardGate();
      const server = await startOwnRoutes(adapter);
      const sse = server.app.get(SseService);
      // A stream open before: its end tells that the shutdown hooks ran.
      const witness = await openRaw(`${server.baseUrl}/api/events?token=${signToken('witness')}`);
      const pending = rawGet(`${server.baseUrl}/${path}`, {}, 5000);
      await waitForCount(() => gate.current.arrived, 1);
      const closed = server.close();
      await witness.ended;
      expect(witness.body()).toMatch(/: server shutting down: reconnect later\n\n$/);
      gate.current.open();
      const res = await pending;
      await closed;
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 503, retryAfter: expect.any(Number) });
      if (retryAfter) expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(2);
      if (retryAfter) expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(4);
      expect(res.body).not.toMatch(/retry:|data:/);
      expect(sse.connectionCount()).toBe(0);
    },
  );

  const HARD_TIMEOUT_MS = 500;
  it(`finishes app.close() by destroying a connection that does not read, ${HARD_TIMEOUT_MS} ms (shutdownTimeoutMs) after shutdown began`, async () => {
    // A limit high enough that the sink does not drop the client first: the hard timeout must.
    const server = await startLibrary(
      { heartbeatIntervalMs: 0, shutdownTimeoutMs: HARD_TIMEOUT_MS },
      { maxPendingDataLength: 512 * 1024 * 1024 },
      { adapter },
    );
    const sse = server.app.get(SseService);
    const { port } = new URL(server.baseUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`GET /api/events?token=${signToken('stuck')} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    // Never read: the kernel's buffers fill, then the server's.
    socket.pause();
    await waitForCount(() => sse.connectionCount('stuck'), 1);
    const data = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 160; i++) sse.sendToUser('stuck', { type: 'update', data });

    const started = Date.now();
    const outcome = await Promise.race([
      server.close().then(() => 'closed'),
      sleep(HARD_TIMEOUT_MS + 3000).then(() => 'still closing'),
    ]);
    const elapsed = Date.now() - started;
    socket.destroy();
    expect(outcome).toBe('closed');
    // Held until the hard timeout: the graceful end could not finish for this client.
    expect(elapsed).toBeGreaterThanOrEqual(HARD_TIMEOUT_MS - 50);
  }, 15_000);
});

describe('shutdown in process, over HTTP/2 (Fastify, h2c)', () => {
  const HARD_TIMEOUT_MS = 500;
  it(`finishes app.close() by destroying a session whose stream is not read, ${HARD_TIMEOUT_MS} ms (shutdownTimeoutMs) after shutdown began`, async () => {
    const server = await startLibrary(
      { heartbeatIntervalMs: 0, shutdownTimeoutMs: HARD_TIMEOUT_MS },
      { maxPendingDataLength: 512 * 1024 * 1024 },
      { adapter: 'fastify', http2: true },
    );
    const sse = server.app.get(SseService);
    const session = await connectH2(server.baseUrl);
    session.on('error', () => undefined);
    const stream = new H2Stream(session, `/api/events?token=${signToken('stuck-h2')}`);
    await stream.opened();
    // Never read: the stream's flow-control window closes, the rest waits in the server.
    stream.request.pause();
    await waitForCount(() => sse.connectionCount('stuck-h2'), 1);
    const data = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 16; i++) sse.sendToUser('stuck-h2', { type: 'update', data });

    const started = Date.now();
    const outcome = await Promise.race([
      server.close().then(() => 'closed'),
      sleep(HARD_TIMEOUT_MS + 3000).then(() => 'still closing'),
    ]);
    const elapsed = Date.now() - started;
    session.destroy();
    expect(outcome).toBe('closed');
    expect(elapsed).toBeGreaterThanOrEqual(HARD_TIMEOUT_MS - 50);
  }, 15_000);
});
