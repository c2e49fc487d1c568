import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Files the bundle takes from outside libs/sse-client: only the server's dependency-free wire rules and event ids. */
const outsideTheClient = (inputs: string[]): string[] =>
  inputs.filter((path) => !path.startsWith('libs/sse-client/')).sort();
const WIRE_RULES = ['libs/sse/src/sse-event-id.ts', 'libs/sse/src/sse-wire.rules.ts'];

async function bundle(entry: string, external: string[] = []) {
  const result = await build({
    entryPoints: [here(entry)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    metafile: true,
    external,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
  return { inputs, imports, code: result.outputFiles[0]?.text ?? '' };
}

describe('entry points', () => {
  it('the framework-free entry bundles for the browser with no dependency at all', async () => {
    const { inputs, imports, code } = await bundle('./index.ts');
    expect(inputs.filter((path) => path.includes('node_modules'))).toEqual([]);
    expect(inputs.some((path) => path.includes('/react/'))).toBe(false);
    expect(imports).toEqual([]);
    expect(outsideTheClient(inputs)).toEqual(WIRE_RULES);
    expect(code).toContain('SseClient');
  });

  it('the React entry imports only react, as a peer', async () => {
    const { inputs, imports } = await bundle('./react/index.ts', ['react']);
    expect(inputs.filter((path) => path.includes('node_modules'))).toEqual([]);
    expect([...new Set(imports)]).toEqual(['react']);
    expect(outsideTheClient(inputs)).toEqual(WIRE_RULES);
  });

  it('exports the public API', async () => {
    const core = await import('./index.js');
    expect(Object.keys(core).sort()).toEqual(
      [
        'DEFAULT_BACKOFF',
        'DEFAULT_MAX_AUTH_FAILURES',
        'HEALTHY_AFTER_MS',
        'MIN_RECOVERY_DELAY_MS',
        'SseClient',
        'SseClientError',
        'backoffDelay',
        'buildStreamUrl',
        'createSseClient',
        'fetchSseTicket',
        'resolveBackoff',
        'withQueryParams',
      ].sort(),
    );
    const react = await import('./react/index.js');
    expect(Object.keys(react).sort()).toEqual(['SseClientError', 'useSSE']);
  });
});
