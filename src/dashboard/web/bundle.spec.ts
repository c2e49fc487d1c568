import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('dashboard bundle', () => {
  it("takes React, the client and the wire contract it depends on, nothing of the server package, and of the demo only the order topics' names and the admin figures' topic", async () => {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: ['src/dashboard/web/main.tsx'],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      jsx: 'automatic',
      define: { 'process.env.NODE_ENV': '"production"' },
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    const packages = new Set(inputs.flatMap((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? []));
    expect([...packages].sort()).toEqual(['react', 'react-dom', 'scheduler']);
    const ours = ['node_modules/', 'src/dashboard/web/', 'libs/sse-client/src/', 'libs/protocol/src/'];
    const others = inputs.filter((path) => !ours.some((prefix) => path.startsWith(prefix)));
    expect(inputs.filter((path) => path.startsWith('libs/protocol/src/')).length).toBeGreaterThan(0);
    expect(others.sort()).toEqual(['src/admin/admin-stats.ts', 'src/notifications/order-topic.ts']);
  });
});
