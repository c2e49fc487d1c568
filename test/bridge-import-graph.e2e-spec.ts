import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

/**
 * The orders domain must not depend on the SSE library, directly or through any
 * file it imports: it emits domain events and the notifications module maps them.
 * The graph is read with TypeScript's own import scanner (static, type-only,
 * re-exports, dynamic `import()`, `require`), following relative imports transitively.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Bare specifiers that would be the SSE library once published, or an alias to it. */
const SSE_PACKAGE = /(^|[/@_-])sse([/_-]|$)/i;

interface Violation {
  specifier: string;
  /** Files from an entry point to the one that imports it. */
  chain: string[];
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && /\.m?ts$/.test(d.name) && !/\.(spec|e2e-spec)\.m?ts$/.test(d.name))
    .map((d) => path.join(d.parentPath, d.name));
}

function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles.map((f) => f.fileName);
}

/** NodeNext: `./x.js` is `./x.ts` on disk; a directory means its index. */
function resolveRelative(from: string, specifier: string): { target: string; file?: string } {
  const target = path.resolve(path.dirname(from), specifier);
  const candidates = [
    target.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts'),
    target,
    `${target}.ts`,
    path.join(target, 'index.ts'),
  ];
  const file = candidates.find((c) => {
    try {
      return readFileSync(c) !== undefined;
    } catch {
      return false;
    }
  });
  return { target, file };
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Walks every file reachable from `entryDir` by relative import; reports imports of `forbiddenDir` or of an SSE package. */
function findSseImports(entryDir: string, forbiddenDir: string): { visited: string[]; violations: Violation[] } {
  const violations: Violation[] = [];
  const visited = new Map<string, string[]>();
  const queue = tsFilesUnder(entryDir).map((file) => ({ file, chain: [file] }));
  while (queue.length > 0) {
    const { file, chain } = queue.shift()!;
    if (visited.has(file)) continue;
    visited.set(file, chain);
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith('.') && !path.isAbsolute(specifier)) {
        if (SSE_PACKAGE.test(specifier)) violations.push({ specifier, chain });
        continue;
      }
      const { target, file: resolved } = resolveRelative(file, specifier);
      if (isInside(target, forbiddenDir) || (resolved && isInside(resolved, forbiddenDir))) {
        violations.push({ specifier, chain });
        continue;
      }
      if (resolved && !resolved.includes(`${path.sep}node_modules${path.sep}`)) {
        queue.push({ file: resolved, chain: [...chain, resolved] });
      }
    }
  }
  return { visited: [...visited.keys()], violations };
}

const describeViolations = (violations: Violation[]) =>
  violations.map((v) => `${v.chain.map((f) => path.relative(ROOT, f)).join(' -> ')} imports '${v.specifier}'`);

describe('orders domain import graph', () => {
  const ordersDir = path.join(ROOT, 'src/orders');
  const sseLib = path.join(ROOT, 'libs/sse');

  it('reaches nothing in libs/sse and no SSE package, transitively', () => {
    const { visited, violations } = findSseImports(ordersDir, sseLib);
    const rel = visited.map((f) => path.relative(ROOT, f));
    // Not vacuous: the service, both event classes and what the controller pulls in were read.
    expect(rel).toEqual(
      expect.arrayContaining([
        'src/orders/orders.service.ts',
        'src/orders/events/order-placed.event.ts',
        'src/orders/events/order-shipped.event.ts',
        'src/auth/bearer-auth.guard.ts',
      ]),
    );
    expect(describeViolations(violations)).toEqual([]);
  });

  it('emits through @nestjs/event-emitter', () => {
    expect(importsOf(path.join(ordersDir, 'orders.service.ts'))).toContain('@nestjs/event-emitter');
  });

  it('does find the dependency where it is allowed: the notifications module imports the library', () => {
    const { violations } = findSseImports(path.join(ROOT, 'src/notifications'), sseLib);
    expect(describeViolations(violations)).toEqual([
      "src/notifications/order-notifications.listener.ts imports '@nest-sse/server/bridge'",
      "src/notifications/order-topic.policy.ts imports '@nest-sse/server'",
    ]);
  });

  describe('the checker itself', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'import-graph-'));
      mkdirSync(path.join(dir, 'domain/events'), { recursive: true });
      mkdirSync(path.join(dir, 'lib/sse/src'), { recursive: true });
      mkdirSync(path.join(dir, 'shared'), { recursive: true });
      writeFileSync(path.join(dir, 'lib/sse/src/index.ts'), 'export const SseService = 1;\n');
      writeFileSync(path.join(dir, 'domain/service.ts'), "import { E } from './events/e.js';\nexport const s = E;\n");
      writeFileSync(path.join(dir, 'domain/events/e.ts'), 'export class E {}\n');
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const check = () =>
      describeViolations(findSseImports(path.join(dir, 'domain'), path.join(dir, 'lib/sse')).violations);

    it('passes a clean domain', () => {
      expect(check()).toEqual([]);
    });

    it.each([
      ['a direct import', "import { SseService } from '../../lib/sse/src/index.js';"],
      ['a type-only import', "import type { SseService } from '../../lib/sse/src/index.js';"],
      ['a re-export', "export * from '../../lib/sse/src/index.js';"],
      ['a dynamic import', "export const load = () => import('../../lib/sse/src/index.js');"],
      ['a side-effect import of a directory', "import '../../lib/sse';"],
      ['a published package', "import { SsePush } from 'nest-sse';"],
      ['a scoped package', "import { SsePush } from '@acme/nest-sse/bridge';"],
    ])('fails on %s in an event class', (_, line) => {
      writeFileSync(path.join(dir, 'domain/events/e.ts'), `${line}\nexport class E {}\n`);
      expect(check()).toHaveLength(1);
    });

    it('fails on an import hidden behind another file, and shows the chain', () => {
      writeFileSync(path.join(dir, 'domain/events/e.ts'), "import '../../shared/helper.js';\nexport class E {}\n");
      writeFileSync(path.join(dir, 'shared/helper.ts'), "export { SseService } from '../lib/sse/src/index.js';\n");
      expect(check()).toEqual([
        expect.stringMatching(
          /domain\/events\/e\.ts -> .*shared\/helper\.ts imports '\.\.\/lib\/sse\/src\/index\.js'$/,
        ),
      ]);
    });
  });
});
