import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BUILDS = join(ROOT, 'test-output', 'fresh-build');

/** A compiled copy of the current sources: `path('src/main.js')` is what `npm start` runs. */
export interface FreshBuild {
  dir: string;
  path(relativePath: string): string;
}

/**
 * Compiles the demo (`src/`), the library (`libs/sse/src/`), its wire contract
 * (`libs/protocol/src/`) and any extra entry files from the sources as they are
 * now, with the repository's compiler options, into
 * `test-output/fresh-build/<hash of those sources>/`, where the demo imports
 * `@nest-sse/server` and the server `@nest-sse/protocol` as packages (as `npm start`
 * does with the built ones). A process test that runs it can never pass on a
 * stale `dist`: a changed source is a new hash, so a new build. An unchanged tree
 * reuses its build.
 */
export async function freshBuild(extraEntries: string[] = []): Promise<FreshBuild> {
  const inputs = [
    ...sourceFiles('src').filter((f) => !f.startsWith('src/dashboard/web/')),
    ...sourceFiles('libs/sse/src'),
    ...sourceFiles('libs/protocol/src'),
    ...extraEntries,
  ].sort();
  const hash = createHash('sha256');
  for (const file of [...inputs, 'tsconfig.json', 'package.json', 'src/public/index.html']) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(ROOT, file)))
      .update('\0');
  }
  const dir = join(BUILDS, hash.digest('hex').slice(0, 16));
  const build = { dir, path: (relativePath: string) => join(dir, relativePath) };
  if (existsSync(join(dir, '.complete'))) return build;
  pruneOldBuilds();

  // Built beside, then renamed: concurrent suites never run a half-written build.
  const work = `${dir}.${process.pid}.${Date.now()}`;
  mkdirSync(work, { recursive: true });
  try {
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        compilerOptions: {
          rootDir: ROOT,
          outDir: work,
          noEmit: false,
          sourceMap: false,
          declaration: false,
          types: ['node'],
        },
        files: inputs.map((f) => join(ROOT, f)),
        include: [],
      }),
    );
    await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(work, 'tsconfig.json')],
      {
        cwd: ROOT,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((err: { stdout?: string; message: string }) => {
      throw new Error(`the fresh build failed to compile:\n${err.stdout || err.message}`);
    });
    // The library and its wire contract as installed packages, as the demo finds them in node_modules after `npm run build`.
    for (const [name, dir] of [
      ['server', 'libs/sse'],
      ['protocol', 'libs/protocol'],
    ]) {
      const pkg = join(work, 'node_modules/@nest-sse', name);
      cpSync(join(work, dir, 'src'), join(pkg, 'dist'), { recursive: true });
      const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(
        join(pkg, 'package.json'),
        JSON.stringify({ name: manifest.name, type: 'module', exports: manifest.exports }),
      );
    }
    // The assets `nest build` copies (nest-cli.json).
    cpSync(join(ROOT, 'src/public'), join(work, 'src/public'), { recursive: true });
    writeFileSync(join(work, '.complete'), new Date().toISOString());
    try {
      renameSync(work, dir);
    } catch {
      // Another suite finished the same build first.
      rmSync(work, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  return build;
}

/** Builds of sources long changed: a day old (about 1 MB each; a suite running now uses a newer one). */
function pruneOldBuilds(): void {
  if (!existsSync(BUILDS)) return;
  const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
  for (const name of readdirSync(BUILDS)) {
    const path = join(BUILDS, name);
    if (statSync(path).mtimeMs < dayAgo) rmSync(path, { recursive: true, force: true });
  }
}

/** The TypeScript sources under a folder, tests excluded, relative to the repository. */
function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.tsx?$/.test(name) && !/\.spec\.tsx?$/.test(name)) out.push(relative(ROOT, full));
    }
  };
  walk(join(ROOT, folder));
  return out;
}
