import { readFileSync } from 'node:fs';

/** The kernel's counts of connections its listen queues could not take (machine-wide, since boot). */
export interface ListenCounters {
  /** The accept queue was full (the event loop did not `accept` fast enough). */
  listenOverflows: number;
  /** SYNs and handshake ACKs dropped at a listening socket, overflows included. */
  listenDrops: number;
}

/**
 * `ListenOverflows` and `ListenDrops` from the `TcpExt:` lines of /proc/net/netstat
 * (a line of names, then a line of values), or undefined off Linux. Read before and
 * after a storm: nothing else connects meanwhile, so the difference is the storm's.
 */
export function readListenCounters(file = '/proc/net/netstat'): ListenCounters | undefined {
  try {
    const [names, values] = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('TcpExt:'))
      .map((line) => line.trim().split(/\s+/).slice(1));
    const value = (name: string) => {
      const i = names.indexOf(name);
      const n = i < 0 ? NaN : Number(values[i]);
      if (!Number.isFinite(n)) throw new Error(`no ${name} in ${file}`);
      return n;
    };
    return { listenOverflows: value('ListenOverflows'), listenDrops: value('ListenDrops') };
  } catch {
    return undefined;
  }
}

export function counterDelta(before?: ListenCounters, after?: ListenCounters): ListenCounters | undefined {
  if (!before || !after) return undefined;
  return {
    listenOverflows: after.listenOverflows - before.listenOverflows,
    listenDrops: after.listenDrops - before.listenDrops,
  };
}
