import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import jwt from 'jsonwebtoken';
import { freshBuild } from './support/fresh-build.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { openRaw, rawGet, sleep } from './support/sse-client.js';

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
        const streams = await Promise.all(Array.from({ length: OPEN_STREAMS }, (_, i) => openRaw(app.url(`open-${i}`))));
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
