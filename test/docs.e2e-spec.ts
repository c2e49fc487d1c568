import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm run docs` (TypeDoc over the TSDoc comments) as a user of the repository runs it: it
 * must succeed, document every public symbol, and give one module per import of the packages
 * (every subpath of each `exports` map), so a new entry cannot ship without its API page.
 */

const PACKAGES = ['libs/protocol/package.json', 'libs/sse/package.json', 'libs/sse-client/package.json'];

/** Every import the packages offer: `@nest-sse/server`, `@nest-sse/server/bridge`, … (not `./package.json`). */
function publicImports(): string[] {
  return PACKAGES.flatMap((file) => {
    const { name, exports } = JSON.parse(readFileSync(file, 'utf8')) as {
      name: string;
      exports: Record<string, unknown>;
    };
    return Object.keys(exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => (subpath === '.' ? name : `${name}/${subpath.slice(2)}`));
  }).sort();
}

function npmRunDocs(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn('npm', ['run', 'docs', '--', ...args], {
      cwd: process.cwd(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('npm run docs (TypeDoc)', () => {
  let out = '';
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'nest-sse-docs-'));
  });
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('documents every public symbol, with one module per import of the three packages', async () => {
    const json = path.join(out, 'api.json');
    // Into a temporary folder; an undocumented export is a validation warning, made an error here.
    const { code, output } = await npmRunDocs([
      '--out',
      path.join(out, 'html'),
      '--json',
      json,
      '--validation.notDocumented',
      '--treatValidationWarningsAsErrors',
    ]);
    expect({ code, output }).toEqual({
      code: 0,
      output: expect.not.stringMatching(/does not have any documentation|\[error\]/),
    });

    const modules = (JSON.parse(readFileSync(json, 'utf8')) as { children: Array<{ name: string }> }).children.map(
      (c) => c.name,
    );
    expect(publicImports()).toEqual(
      expect.arrayContaining([
        '@nest-sse/protocol',
        '@nest-sse/server',
        '@nest-sse/server/redis',
        '@nest-sse/client/react',
      ]),
    );
    expect(modules.sort()).toEqual(publicImports());
    expect(existsSync(path.join(out, 'html/index.html'))).toBe(true);
  }, 120_000);
});
