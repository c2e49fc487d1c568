import { topicProblem, toUserId, USER_ID_RULE } from '@nest-sse/protocol';

import { isThenable } from '../utils/is-thenable.js';
import type { SseEventMappingMetadata } from './sse-event-mapping.decorator.js';

/** Who a checked push goes to. */
export type SsePushAudience =
  | { kind: 'user'; userId: string }
  | { kind: 'users'; userIds: string[] }
  | { kind: 'all' }
  | { kind: 'topics'; topics: string[] };

/** One push, checked: who receives it and what is sent. */
export interface SsePushDelivery {
  readonly audience: SsePushAudience;
  readonly data: unknown;
}

/** A target or mapping that cannot be pushed; its message is the whole reason, for the log line. */
export class SsePushTargetError extends Error {}

const ALL: SsePushAudience = Object.freeze({ kind: 'all' });
const USER_ID_HINT = `${USER_ID_RULE}, or a finite number`;
/** The keys that name a target's audience: a target has exactly one. */
const AUDIENCE_KEYS = ['userId', 'userIds', 'broadcast', 'topic'] as const;
const TARGET_SHAPES = '{ userId | userIds | broadcast | topic, data }';

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

/** One `SsePushTarget`: `{ userId | userIds | broadcast | topic, data }`. */
function parsePushTarget(target: unknown): SsePushDelivery {
  if (typeof target !== 'object' || target === null) {
    throw new SsePushTargetError(`the handler returned a ${typeof target}, not ${TARGET_SHAPES}`);
  }
  const audience = readTargetAudience(target);
  if (!('data' in target)) {
    throw new SsePushTargetError('no data: a target must carry `data`, the projection to send');
  }
  return { audience, data: checkedData(target.data, 'resolve it before returning the target') };
}

/**
 * A mapped event, projected now (both functions run on the event as it was
 * emitted). Errors thrown by the mapping's own functions pass through as they are.
 */
export function parseMappedEvent(mapping: SseEventMappingMetadata, payload: object): SsePushDelivery {
  const { to } = mapping;
  const audience =
    to === 'all'
      ? ALL
      : typeof to === 'function'
        ? readMappedAudience(to(payload))
        : readMappedTopics(to.topic(payload));
  return { audience, data: checkedData(mapping.data(payload), "a mapping's data must be computed synchronously") };
}

function readTargetAudience(target: object): SsePushAudience {
  // Refused rather than ranked: which key wins is a guess, and a wrong guess sends data to the wrong people.
  const keys = AUDIENCE_KEYS.filter((key) => key in target);
  if (keys.length > 1) {
    throw new SsePushTargetError(`ambiguous audience: the target has ${keys.join(' and ')}; give exactly one`);
  }
  if ('topic' in target) return { kind: 'topics', topics: [readTopic(target.topic, 'topic')] };
  if ('broadcast' in target) {
    if (target.broadcast !== true) throw new SsePushTargetError('broadcast must be `true`');
    return ALL;
  }
  if ('userId' in target) {
    const userId = toUserId(target.userId);
    if (userId === undefined) throw new SsePushTargetError(`no audience: userId is not usable (${USER_ID_HINT})`);
    return { kind: 'user', userId };
  }
  if ('userIds' in target) return { kind: 'users', userIds: readUserIds(target.userIds) };
  throw new SsePushTargetError(
    'no audience: return { userId }, { userIds }, { broadcast: true } or { topic } with the data',
  );
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
 * What a mapping's `to: { topic }` returned: one topic name or a list (each
 * published to once; an empty list pushes nothing); one bad name fails the whole push.
 */
function readMappedTopics(topics: unknown): SsePushAudience {
  if (topics === null || topics === undefined) throw new SsePushTargetError("no audience: 'to.topic' returned nothing");
  if (typeof topics === 'string') return { kind: 'topics', topics: [readTopic(topics, "'to.topic'")] };
  if (typeof topics !== 'object' || typeof (topics as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new SsePushTargetError("no audience: 'to.topic' must return a topic name or a list of them");
  }
  const unique = new Set<string>();
  for (const topic of topics as Iterable<unknown>) unique.add(readTopic(topic, "a topic in the list from 'to.topic'"));
  return { kind: 'topics', topics: [...unique] };
}

/** A topic name by the wire rule `SseService.publish` applies, checked before the push is queued. */
function readTopic(topic: unknown, what: string): string {
  const problem = topicProblem(topic);
  if (problem) throw new SsePushTargetError(`no audience: ${what} is not usable (${problem})`);
  return topic as string;
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
