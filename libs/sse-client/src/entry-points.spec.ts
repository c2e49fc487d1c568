import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * Files the bundle takes from outside libs/sse-client: only the wire contract it depends on
 * (@nest-sse/protocol, resolved to its sources here as in tests), never a file of the server.
 */
const outsideTheClient = (inputs: string[]): string[] =>
  inputs.filter((path) => !path.startsWith('libs/sse-client/')).sort();
const isContract = (path: string): boolean => path.startsWith('libs/protocol/src/');

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
    expect(outsideTheClient(inputs).filter((path) => !isContract(path))).toEqual([]);
    expect(outsideTheClient(inputs).length).toBeGreaterThan(0);
    expect(code).toContain('SseClient');
  });

  it('the React entry imports only react, as a peer', async () => {
    const { inputs, imports } = await bundle('./react/index.ts', ['react']);
    expect(inputs.filter((path) => path.includes('node_modules'))).toEqual([]);
    expect([...new Set(imports)]).toEqual(['react']);
    expect(outsideTheClient(inputs).filter((path) => !isContract(path))).toEqual([]);
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
