import type { SseShareOptions } from '../sse-client.types.js';
import { SseLeaseElection } from './lease.election.js';
import { SseLockElection } from './lock.election.js';
import type { SseShareParts } from './tab-share.js';
import type { SseBroadcastChannelConstructor, SseLockManagerLike } from './tab-share.protocol.js';

/**
 * Prefix of the channel (and lock) names of shared streams, with the version of their
 * messages: tabs still running another version after a deploy do not mix with these.
 */
const SHARE_NAME_PREFIX = 'nest-sse:v1:';

/**
 * What a client shares its stream through, or `undefined` when it opens its own:
 * `share: false`; no `BroadcastChannel` (old browsers, some embedded views); outside
 * a page (server-side rendering, workers, Node) unless `share: true` or a
 * `BroadcastChannel` implementation is given. The election
 * uses Web Locks where present, else leases over a second channel.
 */
export function resolveShareParts(
  url: string,
  option: boolean | SseShareOptions | undefined,
): SseShareParts | undefined {
  if (option === false) return undefined;
  const options: SseShareOptions = typeof option === 'object' && option !== null ? option : {};
  const { leaseMs } = options;
  if (leaseMs !== undefined && !(Number.isFinite(leaseMs) && leaseMs >= 300)) {
    throw new RangeError(`share.leaseMs must be a number of milliseconds >= 300, got ${String(leaseMs)}`);
  }
  const global = globalThis as {
    BroadcastChannel?: SseBroadcastChannelConstructor;
    navigator?: { locks?: SseLockManagerLike };
    document?: unknown;
    location?: { href?: string };
  };
  const Channel = options.BroadcastChannel === undefined ? global.BroadcastChannel : options.BroadcastChannel;
  if (typeof Channel !== 'function') return undefined;
  // Only in a page unless asked for (`true`, or an implementation given): a Node process's
  // BroadcastChannel spans its worker threads, not tabs.
  const asked = option === true || typeof options.BroadcastChannel === 'function';
  if (!asked && global.document === undefined) return undefined;
  const locks = options.locks === undefined ? global.navigator?.locks : options.locks;
  const name = shareName(url, options.key, global.location?.href);
  const channel = new Channel(name);
  return {
    channel,
    election:
      locks && typeof locks.request === 'function'
        ? () => new SseLockElection(locks, name)
        : (memberId) => new SseLeaseElection(() => new Channel(`${name}#election`), memberId, leaseMs),
  };
}

/** One shared stream per absolute stream URL and key. */
export function shareName(url: string, key: string | undefined, base: string | undefined): string {
  let absolute = url;
  try {
    absolute = new URL(url, base ?? 'http://localhost/').href;
  } catch {
    // Left as given: the EventSource will refuse it the same way in every member.
  }
  return `${SHARE_NAME_PREFIX}${absolute}|${key ?? ''}`;
}
