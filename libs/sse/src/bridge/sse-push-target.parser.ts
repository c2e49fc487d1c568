import { isThenable } from '../sse.utils.js';
import { toUserId, USER_ID_RULE } from '../sse-wire.rules.js';
import type { SseEventMappingMetadata } from './sse-event-mapping.decorator.js';

/** Who a checked push goes to. */
export type SsePushAudience = { kind: 'user'; userId: string } | { kind: 'users'; userIds: string[] } | { kind: 'all' };

/** One push, checked: who receives it and what is sent. */
export interface SsePushDelivery {
  readonly audience: SsePushAudience;
  readonly data: unknown;
}

/** A target or mapping that cannot be pushed; its message is the whole reason, for the log line. */
export class SsePushTargetError extends Error {}

const ALL: SsePushAudience = Object.freeze({ kind: 'all' });
const USER_ID_HINT = `${USER_ID_RULE}, or a finite number`;

/**
 * What a handler returned, as deliveries: each target that cannot be pushed is
 * reported to `onInvalid` and left out, so one bad target does not stop the others.
 */
export function parsePushResult(value: unknown, onInvalid: (error: unknown) => void): SsePushDelivery[] {
  if (value === null || value === undefined) return [];
  const deliveries: SsePushDelivery[] = [];
  for (const target of Array.isArray(value) ? value : [value]) {
    if (target === null || target === undefined) continue;
    try {
      deliveries.push(parsePushTarget(target));
    } catch (error) {
      onInvalid(error);
    }
  }
  return deliveries;
}

/** One `SsePushTarget`: `{ userId | userIds | broadcast, data }`. */
function parsePushTarget(target: unknown): SsePushDelivery {
  if (typeof target !== 'object' || target === null) {
    throw new SsePushTargetError(`the handler returned a ${typeof target}, not { userId | userIds | broadcast, data }`);
  }
  const audience = readTargetAudience(target);
  if (!('data' in target)) {
    throw new SsePushTargetError('no data: a target must carry `data`, the projection to send');
  }
  return { audience, data: checkedData((target as { data: unknown }).data, 'resolve it before returning the target') };
}

/**
 * A mapped event, projected now (both functions run on the event as it was
 * emitted). Errors thrown by the mapping's own functions pass through as they are.
 */
export function parseMappedEvent(mapping: SseEventMappingMetadata, payload: object): SsePushDelivery {
  const audience = mapping.to === 'all' ? ALL : readMappedAudience(mapping.to(payload));
  return { audience, data: checkedData(mapping.data(payload), "a mapping's data must be computed synchronously") };
}

function readTargetAudience(target: object): SsePushAudience {
  if ('broadcast' in target) {
    if ((target as { broadcast: unknown }).broadcast !== true) throw new SsePushTargetError('broadcast must be `true`');
    return ALL;
  }
  if ('userId' in target) {
    const userId = toUserId((target as { userId: unknown }).userId);
    if (userId === undefined) throw new SsePushTargetError(`no audience: userId is not usable (${USER_ID_HINT})`);
    return { kind: 'user', userId };
  }
  if ('userIds' in target) return { kind: 'users', userIds: readUserIds((target as { userIds: unknown }).userIds) };
  throw new SsePushTargetError('no audience: return { userId }, { userIds } or { broadcast: true } with the data');
}

function readMappedAudience(audience: unknown): SsePushAudience {
  if (audience === null || audience === undefined) throw new SsePushTargetError("no audience: 'to' returned nothing");
  if (typeof audience === 'string' || typeof audience === 'number') {
    const userId = toUserId(audience);
    if (userId === undefined) {
      throw new SsePushTargetError(`no audience: 'to' returned an unusable user id (${USER_ID_HINT})`);
    }
    return { kind: 'user', userId };
  }
  return { kind: 'users', userIds: readUserIds(audience) };
}

/**
 * Copies a list of user ids now, so the audience is fixed when the handler
 * returns even if the push waits in the queue; one unusable id fails the whole push.
 */
function readUserIds(ids: unknown): string[] {
  if (ids === null || typeof ids !== 'object' || typeof (ids as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new SsePushTargetError('no audience: expected a user id or a list of user ids');
  }
  const userIds: string[] = [];
  for (const id of ids as Iterable<unknown>) {
    const userId = toUserId(id);
    if (userId === undefined) {
      throw new SsePushTargetError(`no audience: a user id in the list is not usable (${USER_ID_HINT})`);
    }
    userIds.push(userId);
  }
  return userIds;
}

function checkedData(data: unknown, hint: string): unknown {
  if (isThenable(data)) throw new SsePushTargetError(`data is a Promise: ${hint}`);
  return data;
}
