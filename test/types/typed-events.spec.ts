import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const TYPE_TEST = fileURLToPath(new URL('./typed-events.type-test.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));
const DIRECTIVE = '// @ts-expect-error';

/**
 * Errors a wrong payload or an unknown type may give: not assignable, no
 * overload, excess property, decorator signature, missing property. Anything
 * else (a name that does not resolve, a syntax error) would be a broken test
 * line passing for the wrong reason.
 */
const TYPE_ERRORS = new Set([2322, 2339, 2345, 2353, 2367, 2741, 2769, 1238, 1241, 1270, 1271]);

/** Errors of the type-test file by line (1-based), compiled with the root tsconfig; `edit` changes its text first. */
function errorsByLine(edit: (text: string) => string = (text) => text): Map<number, number[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    TSCONFIG,
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('could not read tsconfig.json');
  const host = ts.createCompilerHost(config.options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, create) =>
    name === TYPE_TEST
      ? ts.createSourceFile(name, edit(ts.sys.readFile(name) ?? ''), language)
      : read(name, language, onError, create);
  const program = ts.createProgram({ rootNames: [TYPE_TEST], options: config.options, host });
  const file = program.getSourceFile(TYPE_TEST);
  if (!file) throw new Error(`${TYPE_TEST} is not in the program`);
  const lines = new Map<number, number[]>();
  for (const d of [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]) {
    const line = file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1;
    lines.set(line, [...(lines.get(line) ?? []), d.code]);
  }
  return lines;
}

describe('typed events (test/types/typed-events.type-test.ts)', () => {
  it('compiles with every @ts-expect-error used, and each one is a type error of its own line', () => {
    // As written: no error at all, so every directive suppresses one (an unused one is error 2578).
    expect(Object.fromEntries(errorsByLine())).toEqual({});

    // Without the directives: errors exactly on the lines they guarded, and of the expected kinds.
    const source = ts.sys.readFile(TYPE_TEST) ?? '';
    const guarded = source.split('\n').flatMap((line, index) => (line.trim().startsWith(DIRECTIVE) ? [index + 2] : []));
    expect(guarded.length).toBeGreaterThanOrEqual(20);
    const errors = errorsByLine((text) => text.replaceAll(DIRECTIVE, '// (expected error)'));
    expect([...errors.keys()].sort((a, b) => a - b)).toEqual(guarded);
    for (const [line, codes] of errors) {
      expect({ line, unexpected: codes.filter((code) => !TYPE_ERRORS.has(code)) }).toEqual({ line, unexpected: [] });
    }
  }, 120_000);
});
