import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { cp, mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';

/** The fixture apps (test/fixtures/*): each a user's project with its own package.json. */
export const FIXTURES_SOURCE = path.resolve('test/fixtures');

/** What a child process printed and how it ended. */
export interface RunResult {
  code: number | null;
  stdout: string;
  /** stdout and stderr as they came. */
  output: string;
  ms: number;
}

/**
 * The environment of a user's shell: without the `npm_*` variables that `npm test` hands its
 * children (npm_config_local_prefix and the like would point npm at this repository), and
 * without Jest's NODE_OPTIONS.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to its end; rejects with its output when it fails or outlives `timeoutMs`. */
export function run(command: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      output += d;
    });
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout, output, ms: Date.now() - started };
      if (code === 0) resolve(result);
      else reject(new Error(`\`${command} ${args.join(' ')}\` in ${cwd} ended with ${code}:\n${output.slice(-4000)}`));
    });
  });
}

export interface PackedPackage {
  name: string;
  /** Where the tarball is, under the name the fixtures' package.json files use. */
  tarball: string;
  /** Paths inside the tarball (without the leading `package/`). */
  files: string[];
  /** Bytes of the tarball (gzipped), and of its files unpacked, as `npm pack --json` reports them. */
  size: number;
  unpackedSize: number;
}

/**
 * `npm pack` of the three workspaces, as a release would make them: `prepack` builds each
 * package from a clean dist first, the protocol first (the others compile against its build).
 * The tarballs are renamed without their version (`nest-sse-server.tgz`), which is what the
 * fixtures depend on (`file:../nest-sse-server.tgz`).
 */
export async function packPackages(root: string, destination: string): Promise<Map<string, PackedPackage>> {
  const { stdout } = await run(
    'npm',
    [
      'pack',
      '-w',
      '@nest-sse/protocol',
      '-w',
      '@nest-sse/server',
      '-w',
      '@nest-sse/client',
      '--pack-destination',
      destination,
      '--json',
      '--loglevel=error',
    ],
    root,
  );
  // prepack's build logs may come before the JSON array on stdout.
  const report = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as Array<{
    name: string;
    filename: string;
    files: Array<{ path: string }>;
    size: number;
    unpackedSize: number;
  }>;
  const packed = new Map<string, PackedPackage>();
  for (const entry of report) {
    const tarball = path.join(destination, `${entry.name.replace('@', '').replace('/', '-')}.tgz`);
    await rename(path.join(destination, entry.filename), tarball);
    packed.set(entry.name, {
      name: entry.name,
      tarball,
      files: entry.files.map((f) => f.path).sort(),
      size: entry.size,
      unpackedSize: entry.unpackedSize,
    });
  }
  return packed;
}

/**
 * Copies a fixture beside the tarballs, outside this repository (so nothing resolves from the
 * repository's node_modules), installs it from the registry and the tarballs, and builds it.
 * `--prefer-offline` reuses npm's cache, so a second run hardly touches the network.
 */
export async function installFixture(
  name: string,
  workRoot: string,
): Promise<{ dir: string; installMs: number; buildMs: number }> {
  const dir = path.join(workRoot, name);
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(path.join(FIXTURES_SOURCE, name))) {
    if (entry === 'node_modules' || entry === 'dist' || entry === 'package-lock.json') continue;
    await cp(path.join(FIXTURES_SOURCE, name, entry), path.join(dir, entry), { recursive: true });
  }
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  const build = await run('npm', ['run', 'build'], dir);
  return { dir, installMs: install.ms, buildMs: build.ms };
}

export interface RunningFixture {
  baseUrl: string;
  port: number;
  output: () => string;
  stop: () => Promise<void>;
  /** Kills it (SIGKILL: a crash, nothing runs on the way out); resolves once it exited. */
  crash: () => Promise<void>;
}

/**
 * Starts a built server fixture on an ephemeral loopback port, or on `port` (a restart where it
 * ran before); it prints `listening on PORT`. `env` adds variables of its own (REDIS_URL).
 */
export function startFixture(
  dir: string,
  secret: string,
  { timeoutMs = 20_000, env = {}, port = 0 }: { timeoutMs?: number; env?: Record<string, string>; port?: number } = {},
): Promise<RunningFixture> {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: userEnv({ ...env, PORT: String(port), JWT_SECRET: secret }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // Shutdown is not under test here, and a keep-alive socket of the test's own fetch can hold
    // the HTTP server's close for seconds: a short grace, then SIGKILL.
    const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(timer);
  };
  const crash = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${dir} did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      // eslint-disable-next-line @typescript-eslint/restrict-plus-operands -- d is a Buffer; += decodes it as UTF-8 (its toString())
      output += d;
      const match = output.match(/listening on (\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve({ baseUrl: `http://127.0.0.1:${match[1]}`, port: Number(match[1]), output: () => output, stop, crash });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${dir} exited (${signal ?? code}) before listening:\n${output}`));
    });
  });
}

/** An HS256 JWT made with node:crypto alone, as any other service of the user's could sign it. */
export function signHs256(sub: string, secret: string, ttlSec = 3600): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub, iat: now, exp: now + ttlSec })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
