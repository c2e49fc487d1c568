import {
  checkTopics,
  eventIdProblem,
  eventTypeProblem,
  parseEventId,
  SSE_LIMITS,
  topicProblem,
} from '@nest-sse/protocol';

import { readAuthReason, type SseErrorCode } from '../sse-client.errors.js';
import type { SseStatus, SseStatusReason } from '../sse-client.types.js';

/**
 * What the members of one shared stream say to each other over their
 * `BroadcastChannel`. Every message names its sender (`from`, a member id);
 * a BroadcastChannel never delivers a message back to the object that posted it.
 * Any script of the origin can post on the channel too: a member acts only on what
 * `checkShareMessage` accepts, and on the leader's messages only from the leader it follows.
 */
export type SseShareMessage =
  /** A member's needs: sent when it joins (`join`), when they change, and as a keep-alive. */
  | {
      kind: 'member';
      from: string;
      join: boolean;
      topics: readonly string[];
      types: readonly string[];
      lastEventId: string | undefined;
    }
  /** A member leaves (its client closed, its page hidden for good). */
  | { kind: 'bye'; from: string; leader: boolean }
  /**
   * An event of the leader's stream, with its topic when it was published to one. `only`:
   * the members it is for (a reset after the stream was rewound for them; the others are ahead).
   */
  | { kind: 'event'; from: string; event: SseRelayedEvent; only?: readonly string[] }
  /**
   * The leader's stream changed status; `topics`: what it carries. A member whose
   * topics it does not carry yet (a reconnect adding them is under way) is not `open`.
   */
  | {
      kind: 'status';
      from: string;
      status: SseStatus;
      reason: SseStatusReason;
      topics: readonly string[];
      /**
       * The stream's position (its last id, or its opening's): a member that joined after
       * the opening learns where the stream stands, should it have to take over before any event.
       */
      position: string | undefined;
      /** With `error`: why the leader gave up, since a member stops listening once it mirrors that. */
      error?: SseSharedError;
    }
  /** The leader's stream reported an error (connection, token, parse). */
  | ({ kind: 'error'; from: string } & SseSharedError)
  /** A new leader asks every member to say what it needs. */
  | { kind: 'roll-call'; from: string }
  /**
   * A member that has not heard from the leader for a while asks whether it still runs
   * (`to`: the leader it knows; none: whoever leads).
   */
  | { kind: 'ping'; from: string; to: string | undefined; nonce: string }
  /**
   * The leader runs (its page is neither frozen nor hung), answering a ping with its
   * `nonce`: a member that claims to lead proves it so before anyone follows it.
   */
  | { kind: 'pong'; from: string; nonce: string }
  /** The sender does not lead (any more): whoever took it for the leader waits for the real one. */
  | { kind: 'resigned'; from: string }
  /**
   * These members open streams of their own and leave the group: the server refused (403)
   * a topic only they asked for, or their topics do not fit in one stream
   * (`SSE_LIMITS.topicsPerStream`). A refusal there is theirs alone.
   */
  | { kind: 'solo'; from: string; members: readonly string[] };

/** An `SseClientError` as it crosses the channel (structured clone keeps no class). */
export interface SseSharedError {
  code: SseErrorCode;
  message: string;
  httpStatus: number | undefined;
  /** A 401's category (`SseClientError.reason`): a short lowercase name, checked. */
  reason?: string;
}

/** One event as the leader's EventSource received it, data untagged. */
export interface SseRelayedEvent {
  readonly type: string;
  /** The event's data text (JSON, as sent). */
  readonly data: string;
  /** Its id (Last-Event-ID); `''` when the event had none. */
  readonly id: string;
  /** The topic it was published to; `undefined` for the user's own events and broadcasts. */
  readonly topic: string | undefined;
}

/** What the share needs of `BroadcastChannel`: the browser's, or a fake in tests. */
export interface SseBroadcastChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  close(): void;
}

export type SseBroadcastChannelConstructor = new (name: string) => SseBroadcastChannelLike;

/** What the share needs of the Web Locks API (`navigator.locks`). */
export interface SseLockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal; steal?: boolean },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown>;
}

/** A member id that sorts by creation time: with the lease election, the oldest candidate wins. */
export function newMemberId(now: number = Date.now()): string {
  const random = Math.floor(Math.random() * 36 ** 8)
    .toString(36)
    .padStart(8, '0');
  return `${now.toString(36).padStart(9, '0')}-${random}`;
}

/** What one member's messages may hold, besides the wire rules (`SSE_LIMITS`). */
export const SSE_SHARE_LIMITS = {
  /** Members a share keeps track of; one more is sent to a stream of its own. Also bounds `only` and `solo` lists. */
  members: 64,
  /** Event types one member may ask the leader to listen to; a client handling more opens its own stream. */
  typesPerMember: 256,
  /**
   * An event id (`<ms>-<seq>`) this far ahead of the browser's clock is no stream's: it is
   * refused, so that it cannot make a member drop every real event after it as a repeat.
   * A day leaves room for a browser clock that is hours off (a wrong time zone).
   */
  idAheadMs: 86_400_000,
} as const;

/** What `newMemberId` makes: the creation time and a random part, both base 36. */
const MEMBER_ID_PATTERN = /^[0-9a-z]{9,11}-[0-9a-z]{8}$/;
const NONCE_PATTERN = /^[0-9a-z]{1,32}$/;

/** An `EventSource`'s own events: never an event of the stream. */
export const EVENTSOURCE_OWN_TYPES: ReadonlySet<string> = new Set(['open', 'error']);

const STATUSES = {
  connecting: true,
  open: true,
  reconnecting: true,
  closed: true,
  error: true,
  unauthorized: true,
} satisfies Record<SseStatus, true>;
const STATUS_REASONS = {
  opened: true,
  dropped: true,
  refused: true,
  'auth-expired': true,
  'token-failed': true,
  'gave-up': true,
  'no-session': true,
  'url-refused': true,
  forbidden: true,
  unauthorized: true,
  unsupported: true,
  closed: true,
} satisfies Record<SseStatusReason, true>;
const ERROR_CODES = {
  parse: true,
  handler: true,
  connection: true,
  token: true,
  'gave-up': true,
  unauthorized: true,
  unsupported: true,
} satisfies Record<SseErrorCode, true>;

/** A member id as `newMemberId` makes them. */
export function isMemberId(value: unknown): value is string {
  return typeof value === 'string' && MEMBER_ID_PATTERN.test(value);
}

/** A ping's nonce: random, so that only a member that hears the ping can answer it. */
export function newNonce(): string {
  return Math.floor(Math.random() * 36 ** 8)
    .toString(36)
    .padStart(8, '0');
}

/**
 * Why `id` cannot be an event id a member names (its last one, a stream's position, a
 * relayed event's): the wire rule (`eventIdProblem`), or a server id (`<ms>-<seq>`) more
 * than `SSE_SHARE_LIMITS.idAheadMs` ahead of `now`.
 */
export function shareIdProblem(id: unknown, now: number = Date.now()): string | undefined {
  const problem = eventIdProblem(id);
  if (problem !== undefined) return problem;
  const parsed = parseEventId(id as string);
  if (parsed !== undefined && parsed.ms > now + SSE_SHARE_LIMITS.idAheadMs) {
    return `event id ${id as string} is more than ${SSE_SHARE_LIMITS.idAheadMs} ms ahead of this clock: no stream has reached it`;
  }
  return undefined;
}

/**
 * A message read off the channel: the message (only its known fields, checked), or why it
 * is not one. `refuse`: a well-formed member asked for needs the stream cannot take (a
 * topic or event type the wire rules refuse, too many of them, a bad last id): the leader
 * sends it to a stream of its own rather than let it break the stream of every member.
 */
export type SseShareCheck = { message: SseShareMessage } | { problem: string; refuse?: string };

type Fields = Record<string, unknown>;

/**
 * Checks what arrived on the channel with the wire rules (`topicProblem` through
 * `checkTopics`, `eventTypeProblem`, `eventIdProblem`, `SSE_LIMITS`) and the share's own
 * limits (`SSE_SHARE_LIMITS`): shape, kinds, field types, list lengths, ids. Never throws.
 */
export function checkShareMessage(data: unknown, now: number = Date.now()): SseShareCheck {
  if (!isFields(data)) return { problem: `not a message object (${Array.isArray(data) ? 'array' : typeof data})` };
  const { kind, from } = data;
  if (typeof kind !== 'string') return { problem: 'no kind' };
  if (!isMemberId(from)) return { problem: `${describeKind(kind)}: from is not a member id` };
  const fail = (problem: string): SseShareCheck => ({ problem: `${describeKind(kind)}: ${problem}` });
  switch (kind) {
    case 'member': {
      if (typeof data.join !== 'boolean') return fail('join is not a boolean');
      const problem =
        topicsProblem(data.topics) ??
        typesProblem(data.types) ??
        (data.lastEventId === undefined ? undefined : shareIdProblem(data.lastEventId, now));
      if (problem !== undefined) return { problem: `member: ${problem}`, refuse: from };
      return {
        message: {
          kind,
          from,
          join: data.join,
          topics: [...(data.topics as string[])],
          types: [...(data.types as string[])],
          lastEventId: data.lastEventId as string | undefined,
        },
      };
    }
    case 'bye':
      if (typeof data.leader !== 'boolean') return fail('leader is not a boolean');
      return { message: { kind, from, leader: data.leader } };
    case 'event': {
      const event = data.event;
      if (!isFields(event)) return fail('no event');
      const problem =
        streamTypeProblem(event.type) ??
        (typeof event.data === 'string' ? undefined : 'data is not a string') ??
        (event.id === '' ? undefined : shareIdProblem(event.id, now)) ??
        (event.topic === undefined ? undefined : topicProblem(event.topic)) ??
        (data.only === undefined ? undefined : membersProblem(data.only, 'only'));
      if (problem !== undefined) return fail(problem);
      const relayed: SseRelayedEvent = {
        type: event.type as string,
        data: event.data as string,
        id: event.id as string,
        topic: event.topic as string | undefined,
      };
      return {
        message: {
          kind,
          from,
          event: relayed,
          only: data.only === undefined ? undefined : [...(data.only as string[])],
        },
      };
    }
    case 'status': {
      const { status, reason, position } = data;
      if (typeof status !== 'string' || !Object.hasOwn(STATUSES, status)) return fail('unknown status');
      if (typeof reason !== 'string' || !Object.hasOwn(STATUS_REASONS, reason)) return fail('unknown reason');
      const problem =
        topicsProblem(data.topics) ??
        (position === undefined ? undefined : shareIdProblem(position, now)) ??
        (data.error === undefined ? undefined : sharedErrorProblem(data.error));
      if (problem !== undefined) return fail(problem);
      return {
        message: {
          kind,
          from,
          status: status as SseStatus,
          reason: reason as SseStatusReason,
          topics: [...(data.topics as string[])],
          position: position as string | undefined,
          error: data.error === undefined ? undefined : sharedError(data.error as Fields),
        },
      };
    }
    case 'error': {
      const problem = sharedErrorProblem(data);
      return problem === undefined ? { message: { kind, from, ...sharedError(data) } } : fail(problem);
    }
    case 'ping':
      if (data.to !== undefined && !isMemberId(data.to)) return fail('to is not a member id');
      if (!isNonce(data.nonce)) return fail('no nonce');
      return { message: { kind, from, to: data.to, nonce: data.nonce } };
    case 'pong':
      if (!isNonce(data.nonce)) return fail('no nonce');
      return { message: { kind, from, nonce: data.nonce } };
    case 'roll-call':
    case 'resigned':
      return { message: { kind, from } };
    case 'solo': {
      const problem = membersProblem(data.members, 'members');
      return problem === undefined
        ? { message: { kind, from, members: [...(data.members as string[])] } }
        : fail(problem);
    }
    default:
      return { problem: `unknown kind ${describeKind(kind)}` };
  }
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE_PATTERN.test(value);
}

function describeKind(kind: string): string {
  return JSON.stringify(kind.slice(0, 20));
}

/** A stream's topics: the wire rules, checked only once the list is known to be short. */
function topicsProblem(topics: unknown): string | undefined {
  if (!Array.isArray(topics)) return 'topics is not an array';
  if (topics.length > SSE_LIMITS.topicsPerStream) return `more than ${SSE_LIMITS.topicsPerStream} topics`;
  const checked = checkTopics(topics);
  return typeof checked === 'string' ? checked : undefined;
}

function typesProblem(types: unknown): string | undefined {
  if (!Array.isArray(types)) return 'types is not an array';
  if (types.length > SSE_SHARE_LIMITS.typesPerMember) return `more than ${SSE_SHARE_LIMITS.typesPerMember} event types`;
  for (const type of types) {
    const problem = streamTypeProblem(type);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** An event type a stream can carry: the wire rule, and none of the EventSource's own. */
export function streamTypeProblem(type: unknown): string | undefined {
  const problem = eventTypeProblem(type);
  if (problem !== undefined) return problem;
  return EVENTSOURCE_OWN_TYPES.has(type as string)
    ? `${type as string} is an EventSource event, not a stream's`
    : undefined;
}

function membersProblem(ids: unknown, field: string): string | undefined {
  if (!Array.isArray(ids)) return `${field} is not an array`;
  if (ids.length > SSE_SHARE_LIMITS.members) return `${field} lists more than ${SSE_SHARE_LIMITS.members} members`;
  return ids.every(isMemberId) ? undefined : `${field} holds something other than member ids`;
}

function sharedErrorProblem(error: unknown): string | undefined {
  if (!isFields(error)) return 'error is not an object';
  const { code, message, httpStatus, reason } = error;
  if (typeof code !== 'string' || !Object.hasOwn(ERROR_CODES, code)) return 'unknown error code';
  if (typeof message !== 'string') return 'error message is not a string';
  if (
    httpStatus !== undefined &&
    !(Number.isInteger(httpStatus) && (httpStatus as number) >= 100 && (httpStatus as number) <= 599)
  ) {
    return 'httpStatus is not an HTTP status';
  }
  if (reason !== undefined && readAuthReason(reason) === undefined) return 'reason is not a 401 category';
  return undefined;
}

function sharedError({ code, message, httpStatus, reason }: Fields): SseSharedError {
  const error: SseSharedError = {
    code: code as SseErrorCode,
    message: message as string,
    httpStatus: httpStatus as number | undefined,
  };
  if (reason !== undefined) error.reason = reason as string;
  return error;
}
