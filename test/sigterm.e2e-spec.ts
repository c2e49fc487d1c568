import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { openRaw } from './support/sse-client.js';

const MAIN = 'dist/src/main.js';

describe('the built demo (npm start)', () => {
  it('is built by `npm test` (pretest)', () => {
    expect(existsSync(MAIN)).toBe(true);
  });

  it('prints the dashboard URL, warns about a generated secret, and ends streams on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, PORT: '0', JWT_SECRET: '', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
    try {
      const deadline = Date.now() + 15_000;
      let match: RegExpMatchArray | null = null;
      while (!(match = output.match(/Dashboard: http:\/\/localhost:(\d+)\//)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(match).not.toBeNull();
      expect(output).toMatch(/JWT_SECRET is not set/);
      const base = `http://127.0.0.1:${match![1]}`;
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
      // Nest re-raises the signal once its shutdown hooks have run.
      expect(await exited).toBe('SIGTERM');
      expect(output).not.toContain(token);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
