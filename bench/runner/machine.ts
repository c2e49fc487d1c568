import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { REPO_ROOT } from '../shared/paths.js';

/** Enough about the machine to tell whether two result files can be compared. */
export function machineInfo() {
  const cores = cpus();
  return {
    os: `${type()} ${release()}`,
    cpuModel: cores[0]?.model ?? 'unknown',
    cpuCount: cores.length,
    totalMemGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    /** Other work on the machine skews every ratio: this is the 1-minute load when the run began. */
    loadAverage: Number(loadavg()[0].toFixed(2)),
  };
}

/** The commit measured, and whether the work tree differed from it (read-only git calls). */
export function revision(): { commit: string; dirty: boolean } | undefined {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    return undefined;
  }
}
