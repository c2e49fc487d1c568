import { fileURLToPath } from 'node:url';

/** This file compiles to dist-bench/shared/paths.js, so the repository is two levels up. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
