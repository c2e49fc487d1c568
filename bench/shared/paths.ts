import { fileURLToPath } from 'node:url';

/** This file compiles to dist-bench/shared/paths.js, so the repository is two levels up. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Compiled entry points of the benchmark's processes. */
export const SERVER_ENTRY = fileURLToPath(new URL('../servers/main.js', import.meta.url));
export const LOAD_ENTRY = fileURLToPath(new URL('../load/main.js', import.meta.url));
