import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import ts from 'typescript';

import {
  followJobThroughWebRestart,
  refuseOthersOnTheJobRoute,
  stopThePageOnAWrongToken,
} from './support/first-day-fixture.js';
import {
  installFixture,
  type PackedPackage,
  packPackages,
  run,
  type RunningFixture,
  signHs256,
  startFixture,
  userEnv,
} from './support/packed-fixtures.js';
import { hasRedisServer, startRedisServer } from './support/redis-server.js';
import { rawGet, sleep, StreamClient } from './support/sse-client.js';

/**
 * The packages as a user gets them: `npm pack` once, then apps under test/fixtures/, each
 * with its own package.json, installed from the registry and the tarballs (never linked to
 * the sources), compiled with their own tsc, booted, and sent to over a real socket.
 */

const SECRET = 'fixture-secret-for-tests-only';
const SERVER_FIXTURES = ['esm-express', 'cjs-express', 'fastify', 'no-event-emitter', 'nest11', 'first-day'] as const;
const FIXTURES = [...SERVER_FIXTURES, 'browser-react'] as const;
type Fixture = (typeof FIXTURES)[number];

let work = '';
let packed = new Map<string, PackedPackage>();
const fixtures = new Map<Fixture, PromiseSettledResult<{ dir: string; installMs: number; buildMs: number }>>();

beforeAll(async () => {
  const started = Date.now();
  work = await mkdtemp(path.join(os.tmpdir(), 'nest-sse-packages-'));
  packed = await packPackages(process.cwd(), work);
  const packMs = Date.now() - started;
  // Installs are mostly waiting on npm's cache and network, so all fixtures install at once.
  // One failing fixture fails its own test only.
  const results = await Promise.allSettled(FIXTURES.map((name) => installFixture(name, work)));
  FIXTURES.forEach((name, i) => fixtures.set(name, results[i]));
  const timings = FIXTURES.map((name, i) => {
    const r = results[i];
    return r.status === 'fulfilled' ? `${name} ${r.value.installMs}+${r.value.buildMs} ms` : `${name} failed`;
  });
  console.info(
    `packed in ${packMs} ms; fixtures installed+built: ${timings.join(', ')}; total ${Date.now() - started} ms`,
  );
}, 600_000);

afterAll(async () => {
  // KEEP_FIXTURES=1 keeps the installed fixtures for a look after a failure.
  if (work && !process.env.KEEP_FIXTURES) await rm(work, { recursive: true, force: true });
  else if (work) console.info(`fixtures kept in ${work}`);
});

function fixtureDir(name: Fixture): string {
  const result = fixtures.get(name);
  if (!result) throw new Error(`${name} was not set up (did packing fail?)`);
  if (result.status === 'rejected') throw result.reason;
  return result.value.dir;
}

function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function packedFiles(name: string): string[] {
  const pkg = packed.get(name);
  if (!pkg) throw new Error(`${name} was not packed`);
  return pkg.files;
}

/** Every path an exports map points at (all conditions, all subpaths). */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports && typeof exports === 'object') return Object.values(exports).flatMap(exportTargets);
  return [];
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function post(url: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST' });
  expect(res.status).toBe(200);
  return res.json();
}

async function connectionCount(app: RunningFixture, userId: string): Promise<number> {
  const res = await fetch(`${app.baseUrl}/connections/${userId}`);
  return ((await res.json()) as { count: number }).count;
}

/** GET /health of a fixture's terminus controller over SseHealthIndicator: 200, sse up. */
async function expectHealthUp(app: RunningFixture): Promise<void> {
  const res = await fetch(`${app.baseUrl}/health`);
  expect({ status: res.status, body: await res.json() }).toEqual({
    status: 200,
    body: expect.objectContaining({ status: 'ok', details: { sse: { status: 'up' } } }),
  });
}

/**
 * Boots a server fixture and proves the route and SseService work from the tarball:
 * a stream without a token is refused, one with a token gets what the fixture sends
 * through SseService and, with the bridge, what an @SsePush handler makes of a domain event.
 */
async function proveDelivery(
  name: Fixture,
  {
    bridge,
    env,
    then,
  }: { bridge: boolean; env?: Record<string, string>; then?: (app: RunningFixture) => Promise<void> },
): Promise<void> {
  const app = await startFixture(fixtureDir(name), SECRET, { env });
  const userId = `user-${name}`;
  const client = new StreamClient(`${app.baseUrl}/api/events?token=${signHs256(userId, SECRET)}`);
  try {
    expect((await rawGet(`${app.baseUrl}/api/events`)).status).toBe(401);

    await client.opened(10_000);
    await until(async () => (await connectionCount(app, userId)) === 1, 'the stream to be registered');
    expect(await post(`${app.baseUrl}/notify/${userId}`)).toEqual({ reached: 1 });
    await client.until(() => client.ofType('notification').length > 0, 5000, 'the notification');
    expect(client.ofType('notification')[0].data).toEqual({ fixture: name });

    if (bridge) {
      expect(await post(`${app.baseUrl}/orders/${userId}/o-1`)).toEqual({ emitted: true });
      await client.until(() => client.ofType('update').length > 0, 5000, 'the bridged update');
      expect(client.ofType('update')[0].data).toEqual({ orderId: 'o-1', via: 'bridge' });
    }
    // While the stream is open: what a fixture checks beyond delivery.
    await then?.(app);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${app.output()}`);
  } finally {
    client.close();
    await app.stop();
  }
}

/** The three packages: the wire contract both sides depend on, the server, the browser client. */
const PACKAGES = ['@nest-sse/protocol', '@nest-sse/server', '@nest-sse/client'] as const;

/** Each package's folder in the repository. */
const DIRECTORIES: Record<string, string> = {
  '@nest-sse/protocol': 'libs/protocol',
  '@nest-sse/server': 'libs/sse',
  '@nest-sse/client': 'libs/sse-client',
};

/** The source files under a folder (relative, without extension), tests and test helpers left out. */
function sourceModules(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => /\.tsx?$/.test(f) && !/\.spec\.tsx?$/.test(f) && !f.split(path.sep).includes('testing'))
    .map((f) =>
      f
        .split(path.sep)
        .join('/')
        .replace(/\.tsx?$/, ''),
    )
    .sort();
}

describe('the tarballs (npm pack -w @nest-sse/protocol -w @nest-sse/server -w @nest-sse/client)', () => {
  const SHIPPED = /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts))$/;
  const TEST_ONLY = /\.(spec|test)\.|(^|\/)(testing|__tests__|fixtures)\//;

  it.each(PACKAGES)('%s holds its build, README and LICENSE, and nothing test-only', (name) => {
    const files = packedFiles(name);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
    expect(files.filter((f) => !SHIPPED.test(f))).toEqual([]);
    expect(files.filter((f) => TEST_ONLY.test(f))).toEqual([]);
    // Every module comes with its declarations.
    for (const js of files.filter((f) => f.endsWith('.js'))) {
      expect(files).toEqual(expect.arrayContaining([js.replace(/\.js$/, '.d.ts')]));
    }
  });

  /**
   * Bounds with room for growth, well under what the source maps with inlined sources made them
   * (server 280 kB packed, 1.0 MB unpacked; client 116 kB, 422 kB): a map or a folder shipped by
   * mistake goes over.
   */
  const SIZE_BOUNDS: Record<string, { size: number; unpackedSize: number }> = {
    '@nest-sse/protocol': { size: 20_000, unpackedSize: 60_000 },
    '@nest-sse/server': { size: 200_000, unpackedSize: 700_000 },
    '@nest-sse/client': { size: 80_000, unpackedSize: 300_000 },
  };

  it.each(PACKAGES)(
    '%s ships no source maps (no .map file, no sourceMappingURL pointing at one) and stays within its size bound',
    async (name) => {
      const pkg = packed.get(name)!;
      expect(pkg.files.filter((f) => f.endsWith('.map'))).toEqual([]);
      const dir = path.join(work, 'maps', name);
      await mkdir(dir, { recursive: true });
      await run('tar', ['-xzf', pkg.tarball, '-C', dir], work);
      const linked = pkg.files
        .filter((f) => /\.(js|d\.ts)$/.test(f))
        .filter((f) => /^\/\/# sourceMappingURL=/m.test(readFileSync(path.join(dir, 'package', f), 'utf8')));
      expect(linked).toEqual([]);
      const bound = SIZE_BOUNDS[name];
      expect([name, 'packed', pkg.size <= bound.size ? 'within' : pkg.size]).toEqual([name, 'packed', 'within']);
      expect([name, 'unpacked', pkg.unpackedSize <= bound.unpackedSize ? 'within' : pkg.unpackedSize]).toEqual([
        name,
        'unpacked',
        'within',
      ]);
    },
  );

  it('@nest-sse/server: the main entry and its ./bridge, ./redis, ./metrics and ./health entries', () => {
    expect(packedFiles('@nest-sse/server')).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/bridge/index.js',
        'dist/bridge/index.d.ts',
        'dist/redis/index.js',
        'dist/redis/index.d.ts',
        'dist/metrics/index.js',
        'dist/metrics/index.d.ts',
        'dist/health/index.js',
        'dist/health/index.d.ts',
      ]),
    );
  });

  it.each(['@nest-sse/protocol', '@nest-sse/client'])(
    '%s: its own build and no other file (the client ships no server file)',
    (name) => {
      const files = packedFiles(name);
      const built = files
        .filter((f) => f.startsWith('dist/'))
        .map((f) => f.replace(/^dist\//, '').replace(/\.(js|d\.ts)$/, ''));
      // dist/ mirrors the package's own src/ (each module once as .js, once as .d.ts), nothing from elsewhere.
      expect([...new Set(built)].sort()).toEqual(sourceModules(path.join(DIRECTORIES[name], 'src')));
      const entries = name === '@nest-sse/client' ? ['dist/index.js', 'dist/react/index.js'] : ['dist/index.js'];
      expect(files).toEqual(expect.arrayContaining(entries));
    },
  );

  it('@nest-sse/protocol imports nothing, not even Node (JavaScript and declarations): browsers and servers read it alike', async () => {
    const pkg = packed.get('@nest-sse/protocol')!;
    const dir = path.join(work, 'protocol-imports');
    await mkdir(dir, { recursive: true });
    await run('tar', ['-xzf', pkg.tarball, '-C', dir], work);
    const manifest = readJson(path.join(dir, 'package/package.json'));
    expect([manifest.dependencies, manifest.peerDependencies]).toEqual([undefined, undefined]);
    const outside: string[] = [];
    for (const file of pkg.files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      const text = readFileSync(path.join(dir, 'package', file), 'utf8');
      const { importedFiles, typeReferenceDirectives } = ts.preProcessFile(text, true, true);
      for (const { fileName } of [...importedFiles, ...typeReferenceDirectives])
        if (!fileName.startsWith('.')) outside.push(`${file}: ${fileName}`);
    }
    expect(outside).toEqual([]);
  });

  /**
   * Where each optional peer may be imported: only by the entry that needs it, so that the others load
   * (and type-check) without it. `null`: anywhere (a required peer).
   */
  const PEER_HOMES: Record<string, Record<string, string | null>> = {
    '@nest-sse/server': {
      '@nest-sse/protocol': null,
      '@nestjs/common': null,
      '@nestjs/core': null,
      '@nestjs/jwt': null,
      rxjs: null,
      'reflect-metadata': null,
      '@nestjs/event-emitter': 'dist/bridge/',
      ioredis: 'dist/redis/',
      'prom-client': 'dist/metrics/',
      '@nestjs/terminus': 'dist/health/',
    },
    '@nest-sse/client': { '@nest-sse/protocol': null, react: 'dist/react/' },
  };

  it.each(['@nest-sse/server', '@nest-sse/client'])(
    '%s imports nothing it does not declare (JavaScript and declarations), and each optional peer only from its own entry',
    async (name) => {
      const pkg = packed.get(name)!;
      const dir = path.join(work, 'imports', name);
      await mkdir(dir, { recursive: true });
      await run('tar', ['-xzf', pkg.tarball, '-C', dir], work);
      const manifest = readJson(path.join(dir, 'package/package.json'));
      const declared = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      // The table above and the manifest name the same peers, and every optional one has a home.
      expect(Object.keys(PEER_HOMES[name]).sort()).toEqual([...declared].sort());
      for (const optional of Object.keys(manifest.peerDependenciesMeta ?? {}))
        expect([optional, PEER_HOMES[name][optional]]).toEqual([optional, expect.any(String)]);

      const misplaced: string[] = [];
      let bare = 0;
      for (const file of pkg.files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
        const text = readFileSync(path.join(dir, 'package', file), 'utf8');
        for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
          if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
          bare++;
          const dependency = specifier.startsWith('@')
            ? specifier.split('/').slice(0, 2).join('/')
            : specifier.split('/')[0];
          if (!declared.has(dependency)) misplaced.push(`${file}: ${specifier} (not declared)`);
          else {
            const home = PEER_HOMES[name][dependency];
            if (home && !file.startsWith(home)) misplaced.push(`${file}: ${specifier} (only ${home} may)`);
          }
        }
      }
      expect(bare).toBeGreaterThan(0);
      expect(misplaced).toEqual([]);
    },
  );

  it.each(PACKAGES)(
    '%s: package.json as published (exports in the tarball, types first, engines, sideEffects, repository, homepage, bugs)',
    async (name) => {
      const pkg = packed.get(name)!;
      const dir = path.join(work, 'unpacked', name);
      await mkdir(dir, { recursive: true });
      await run('tar', ['-xzf', pkg.tarball, '-C', dir], work);
      const root = path.join(dir, 'package');
      const manifest = readJson(path.join(root, 'package.json'));

      expect(manifest).toMatchObject({
        type: 'module',
        license: 'MIT',
        sideEffects: false,
        engines: { node: '>=20.19' },
      });
      for (const target of exportTargets(manifest.exports)) expect(existsSync(path.join(root, target))).toBe(true);
      // TypeScript takes the first matching condition, so `types` must come before `default`.
      for (const [subpath, conditions] of Object.entries(manifest.exports as Record<string, unknown>)) {
        if (typeof conditions === 'object') expect([subpath, Object.keys(conditions!)[0]]).toEqual([subpath, 'types']);
      }
      expect(readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);

      // Where npm links the package to: its folder in the repository, the README and the issues.
      const directory = DIRECTORIES[name];
      expect(manifest).toMatchObject({
        repository: {
          type: 'git',
          url: expect.stringMatching(/^git\+https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/),
          directory,
        },
        homepage: expect.stringMatching(new RegExp(`^https://github\\.com/.+/tree/main/${directory}#readme$`)),
        bugs: { url: expect.stringMatching(/^https:\/\/github\.com\/.+\/issues$/) },
      });
      expect(manifest.homepage.startsWith(manifest.repository.url.replace(/^git\+/, '').replace(/\.git$/, ''))).toBe(
        true,
      );
    },
  );
});

// A fixture boots in about a second; the margin is for a loaded CI machine.
const BOOT_AND_SEND_MS = 60_000;

describe('fixture apps installed from the tarballs (test/fixtures)', () => {
  it(
    '(a) esm-express: an ESM Nest 12 app on Express gets events from SseService and from the bridge',
    async () => {
      await proveDelivery('esm-express', { bridge: true });
    },
    BOOT_AND_SEND_MS,
  );

  it(
    '(a) esm-express: the packed framework-free client receives the event in Node, with no react installed',
    async () => {
      const dir = fixtureDir('esm-express');
      // react is an optional peer of ./react only: npm must not have installed it for the main entry.
      expect(existsSync(path.join(dir, 'node_modules/react'))).toBe(false);

      const app = await startFixture(dir, SECRET);
      const userId = 'user-client';
      const child = spawn(
        process.execPath,
        ['dist/client.js', `${app.baseUrl}/api/events`, signHs256(userId, SECRET)],
        {
          cwd: dir,
          env: userEnv(),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      try {
        await until(async () => output.includes('status open'), 'the client to open', 10_000);
        await until(async () => (await connectionCount(app, userId)) === 1, 'the stream to be registered');
        expect(await post(`${app.baseUrl}/notify/${userId}`)).toEqual({ reached: 1 });
        await until(async () => output.includes('notification '), 'the client to print the notification');
        expect(output).toContain('notification {"fixture":"esm-express"}');
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- client ---\n${output}\n--- app ---\n${app.output()}`);
      } finally {
        child.kill('SIGTERM');
        await app.stop();
      }
    },
    BOOT_AND_SEND_MS,
  );

  it(
    '(a) esm-express: ./health (@nestjs/terminus 12) and ./metrics (prom-client 15.0) from the tarball answer for the open stream',
    async () => {
      const dir = fixtureDir('esm-express');
      // The floor of the peer range, so that the range's claim is what the declarations were checked against.
      expect(readJson(path.join(dir, 'node_modules/prom-client/package.json')).version).toBe('15.0.0');
      await proveDelivery('esm-express', {
        bridge: false,
        then: async (app) => {
          await expectHealthUp(app);
          const res = await fetch(`${app.baseUrl}/metrics`);
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
          const text = await res.text();
          expect(text).toMatch(/^sse_open_streams 1$/m);
          expect(text).toMatch(/^sse_connected_users 1$/m);
          expect(text).toMatch(/^sse_events_published_total\{target="user"\} 1$/m);
          expect(text).toMatch(/^sse_connections_refused_total\{reason="unauthorized"\} 1$/m);
        },
      });
    },
    BOOT_AND_SEND_MS,
  );

  // With a redis-server on this machine (.ci/run installs one); without it, skipped.
  const withRedis = hasRedisServer() ? it : it.skip;
  withRedis(
    '(a) esm-express: ./redis (ioredis 5.4) from the tarball carries the events through a redis-server of its own',
    async () => {
      const dir = fixtureDir('esm-express');
      expect(readJson(path.join(dir, 'node_modules/ioredis/package.json')).version).toBe('5.4.0');
      const redis = await startRedisServer();
      try {
        await proveDelivery('esm-express', {
          bridge: true,
          env: { REDIS_URL: redis.url },
          then: async (app) => {
            await expectHealthUp(app);
            // Through Redis, the fixture's route counted the stream in the cluster: stop Redis and health says so.
            await redis.stop();
            await until(
              async () => (await fetch(`${app.baseUrl}/health`)).status === 503,
              'health to say Redis is away',
            );
          },
        });
      } finally {
        await redis.stop();
      }
    },
    BOOT_AND_SEND_MS,
  );

  it(
    '(b) cjs-express: a CommonJS app require()s the ESM package and its ./bridge (Node >= 20.19)',
    async () => {
      const dir = fixtureDir('cjs-express');
      expect(readJson(path.join(dir, 'package.json')).type).toBeUndefined();
      // Compiled with module commonjs: the app really loads us through require().
      expect(readFileSync(path.join(dir, 'dist/app.module.js'), 'utf8')).toMatch(
        /require\("@nest-sse\/server"\)[\s\S]*require\("@nest-sse\/server\/bridge"\)/,
      );
      await proveDelivery('cjs-express', { bridge: true });
    },
    BOOT_AND_SEND_MS,
  );

  it(
    '(c) fastify: a Nest 12 app on @nestjs/platform-fastify 12.5.0',
    async () => {
      const dir = fixtureDir('fastify');
      expect(readJson(path.join(dir, 'node_modules/@nestjs/platform-fastify/package.json')).version).toBe('12.5.0');
      // Nothing of ours pulls Express in.
      expect(existsSync(path.join(dir, 'node_modules/@nestjs/platform-express'))).toBe(false);
      expect(existsSync(path.join(dir, 'node_modules/express'))).toBe(false);
      await proveDelivery('fastify', { bridge: false });
    },
    BOOT_AND_SEND_MS,
  );

  it(
    '(d) no-event-emitter: SseModule and SseService work without @nestjs/event-emitter or ioredis installed',
    async () => {
      // The optional peers must not have been installed by npm (a required peer would be).
      expect(existsSync(path.join(fixtureDir('no-event-emitter'), 'node_modules/@nestjs/event-emitter'))).toBe(false);
      expect(existsSync(path.join(fixtureDir('no-event-emitter'), 'node_modules/ioredis'))).toBe(false);
      await proveDelivery('no-event-emitter', { bridge: false });
    },
    BOOT_AND_SEND_MS,
  );

  it(
    '(e) nest11: a CommonJS Nest 11 app (common, core, platform-express, jwt 11) with the bridge and ./health on terminus 11',
    async () => {
      const dir = fixtureDir('nest11');
      for (const pkg of ['common', 'core', 'platform-express']) {
        expect(readJson(path.join(dir, `node_modules/@nestjs/${pkg}/package.json`)).version).toMatch(/^11\./);
      }
      expect(readJson(path.join(dir, 'node_modules/@nestjs/jwt/package.json')).version).toMatch(/^11\./);
      // ./health with @nestjs/terminus 11.0.0, the floor of the range the peer dependency claims.
      expect(readJson(path.join(dir, 'node_modules/@nestjs/terminus/package.json')).version).toBe('11.0.0');
      await proveDelivery('nest11', { bridge: true, then: expectHealthUp });
    },
    BOOT_AND_SEND_MS,
  );

  it(
    '(f) browser-react: useSSE from @nest-sse/client/react type-checks (skipLibCheck false, React 18) and bundles without server code',
    () => {
      const dir = fixtureDir('browser-react');
      expect(readJson(path.join(dir, 'node_modules/react/package.json')).version).toMatch(/^18\./);
      expect(readFileSync(path.join(dir, 'tsconfig.json'), 'utf8')).toMatch(/"skipLibCheck": false/);
      const inputs = Object.keys(readJson(path.join(dir, 'dist/meta.json')).inputs as Record<string, unknown>);
      const ours = inputs.filter((f) => f.includes('node_modules/@nest-sse/'));
      expect(ours).toEqual(expect.arrayContaining(['node_modules/@nest-sse/client/dist/react/use-sse.js']));
      // Besides the client, only the wire contract it depends on; nothing of the server.
      const contract = ours.filter((f) => !f.startsWith('node_modules/@nest-sse/client/dist/'));
      expect(contract.length).toBeGreaterThan(0);
      expect(contract.filter((f) => !f.startsWith('node_modules/@nest-sse/protocol/dist/'))).toEqual([]);
      expect(inputs.filter((f) => f.includes('@nestjs') || f.includes('rxjs'))).toEqual([]);
      expect(existsSync(path.join(dir, 'dist/app.js'))).toBe(true);
    },
    BOOT_AND_SEND_MS,
  );
});

/** Two app processes, a redis-server and Chromium; the page's reconnect waits out the client's backoff. */
const RESTART_MS = 120_000;

describe("first-day: a new user's job-progress app from the tarballs (test/fixtures/first-day)", () => {
  // With a redis-server on this machine (.ci/run installs one); without it, skipped.
  const withRedis = hasRedisServer() ? it : it.skip;

  it('(g) first-day: the server (skipLibCheck false) and the React 19 page importing its event map compile, and the page bundles', () => {
    const dir = fixtureDir('first-day');
    expect(readJson(path.join(dir, 'node_modules/react/package.json')).version).toMatch(/^19\./);
    expect(existsSync(path.join(dir, 'dist/main.js'))).toBe(true);
    expect(existsSync(path.join(dir, 'public/app.js'))).toBe(true);
  });

  withRedis(
    '(g) first-day: a job followed in the page (own route, a ticket per connection) shows every step once, in order, though its server crashed (SIGKILL) mid-job and came back on its port',
    () => followJobThroughWebRestart(fixtureDir('first-day'), SECRET, 'crash'),
    RESTART_MS,
  );

  withRedis(
    '(g) first-day: the same when its server is stopped (SIGTERM) mid-job and comes back on its port',
    () => followJobThroughWebRestart(fixtureDir('first-day'), SECRET, 'stop'),
    RESTART_MS,
  );

  withRedis(
    "(g) first-day: the job's route answers no credential 401, another user's ticket 403 (the jobs/:id policy), a spent ticket 401",
    () => refuseOthersOnTheJobRoute(fixtureDir('first-day'), SECRET),
    BOOT_AND_SEND_MS,
  );

  withRedis(
    '(g) first-day: the page given a token the server refuses stops at unauthorized (reason invalid) after 3 ticket requests, and asks no more within 2 s',
    () => stopThePageOnAWrongToken(fixtureDir('first-day'), SECRET),
    BOOT_AND_SEND_MS,
  );
});
