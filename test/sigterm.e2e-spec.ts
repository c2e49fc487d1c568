import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';

import jwt from 'jsonwebtoken';

import { freshBuild } from './support/fresh-build.js';
import { openRaw } from './support/sse-client.js';

// The demo compiled as `npm start` runs it (JavaScript, the library as a package), but from the
// sources as they are now (test/support/fresh-build.ts), never from `dist`: a stale build cannot pass.
describe('the demo compiled from the current sources (npm start)', () => {
  let main: string;

  beforeAll(async () => {
    main = (await freshBuild()).path('src/main.js');
  }, 120_000);

  /** Starts the compiled demo and resolves with it and its port once it prints its dashboard URL. */
  async function startDemoProcess(
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ child: ChildProcess; port: number; output: () => string }> {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, PORT: '0', JWT_SECRET: '', NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const deadline = Date.now() + 15_000;
    let match: RegExpMatchArray | null = null;
    while (!(match = output.match(/Dashboard: http:\/\/localhost:(\d+)\//)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!match) {
      child.kill('SIGKILL');
      throw new Error(`the demo did not print its dashboard URL: ${output}`);
    }
    return { child, port: Number(match[1]), output: () => output };
  }

  it("queues 2,000 connects while it is stopped (a listen backlog of 4,096, not Node's 511)", async () => {
    const { child, port } = await startDemoProcess();
    const sockets: net.Socket[] = [];
    try {
      // Stopped, the process accepts nothing: the kernel completes handshakes only while its accept queue has room.
      child.kill('SIGSTOP');
      let connected = 0;
      const all = new Promise<void>((resolve) => {
        for (let i = 0; i < 2000; i++) {
          const socket = net.connect(port, '127.0.0.1', () => ++connected === 2000 && resolve());
          socket.on('error', () => undefined);
          sockets.push(socket);
        }
      });
      const bound = new Promise<void>((resolve) => setTimeout(resolve, 5000));
      await Promise.race([all, bound]);
      expect(connected).toBe(2000);
    } finally {
      sockets.forEach((s) => s.destroy());
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });

  // The timeouts on both platforms, and streams outliving them: test/demo-contract-ops.e2e-spec.ts. Here, that main.ts sets them.
  it('cuts off a request whose body never comes after HTTP_REQUEST_TIMEOUT_MS: 408 and closed within the timeout and one 1 s check (bound 4 s)', async () => {
    const { child, port } = await startDemoProcess({
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      HTTP_HEADERS_TIMEOUT_MS: '1000',
    });
    try {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(
        'POST /api/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n',
      );
      const bound = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 4_000).unref());
      expect(await Promise.race([closed, bound])).toBeUndefined();
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      socket.destroy();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('prints the dashboard URL, warns about a generated secret, and ends streams on SIGTERM', async () => {
    const { child, port, output } = await startDemoProcess();
    const exited = new Promise<string>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
    );
    try {
      expect(output()).toMatch(/JWT_SECRET is not set/);
      const base = `http://127.0.0.1:${port}`;
      const res = await fetch(`${base}/api/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'term' }),
      });
      const { token } = (await res.json()) as { token: string };
      expect(jwt.decode(token)).toMatchObject({ sub: 'term' });
      const stream = await openRaw(`${base}/api/events?token=${token}`);
      expect(stream.status).toBe(200);

      child.kill('SIGTERM');
      await stream.ended;
      expect(stream.response.complete).toBe(true);
      // Its last frame tells the client when to come back (jittered, see test/shutdown.e2e-spec.ts).
      expect(stream.body()).toMatch(/retry: \d+\n: server shutting down: reconnect later\n\n$/);
      // Nest re-raises the signal once its shutdown hooks have run.
      expect(await exited).toBe('SIGTERM');
      expect(output()).not.toContain(token);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
