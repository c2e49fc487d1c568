import { readFileSync } from 'node:fs';

/** The soft open-file limit of this process (Linux), or undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === 'unlimited' ? Infinity : Number(soft) || undefined;
  } catch {
    return undefined;
  }
}

/** Sockets plus what node itself keeps open. */
export function assertEnoughFiles(connections: number): string {
  const limit = openFileLimit();
  if (limit !== undefined && limit < connections + 64) {
    throw new Error(
      `open-file limit is ${limit}, too low for ${connections} streams: run 'ulimit -n ${connections + 1024}' ` +
        `(bench/run.sh raises it to the hard limit, 'ulimit -Hn')`,
    );
  }
  return limit === undefined ? 'unknown' : String(limit);
}
