// Bundles the React dashboard (src/dashboard/web) into src/public/dashboard.js, which
// DashboardController serves at /dashboard.js and `nest build` copies to dist/ as an asset.
// Run by `npm run build` (and so by `npm start` and `npm test`) before `nest build`.
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

const started = Date.now();
try {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/dashboard/web/main.tsx'],
    outfile: 'src/public/dashboard.js',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    jsx: 'automatic',
    // React's production build: no development checks in the shipped page.
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  console.log(`dashboard: src/public/dashboard.js (${Math.round(bytes / 1024)} KiB) in ${Date.now() - started} ms`);
} catch (err) {
  // esbuild has already printed the errors with their locations.
  console.error(`dashboard: bundling failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  process.exit(1);
}
