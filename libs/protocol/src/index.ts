/**
 * The wire contract of nest-sse streams, shared by `@nest-sse/server` and `@nest-sse/client`.
 * It imports nothing, not even Node: browsers and servers read it alike.
 */

/** The documented event types, reset reasons, limits, and the checks of names, ids, user ids and topics. */
export {
  checkTopics,
  eventIdProblem,
  eventTypeProblem,
  isUserId,
  SSE_EVENT_TYPES,
  SSE_LIMITS,
  SSE_RESET_REASONS,
  type SseResetReason,
  topicProblem,
  toUserId,
  USER_ID_RULE,
} from './wire.rules.js';

/** Why a request got a 401: the body's `reason` and the header that carries it. */
export { SSE_AUTH_FAILURE_REASONS, SSE_AUTH_REASON_HEADER, type SseAuthFailureReason } from './auth-failure.js';

/** Event ids, `<ms>-<seq>`: their wire form and their order. */
export { compareEventIds, formatEventId, parseEventId, type SseEventId } from './event-id.js';

/** Shared streams (`?shared=1`): the parameter and the topic tag of their data. */
export { readShared, SSE_SHARED_PARAM, tagTopicData, untagTopicData } from './shared-stream.js';

/** What a stream request asks for: where it resumes from, and whether it is shared. */
export { readLastEventId, readSharedParam, SSE_LAST_EVENT_ID_PARAM } from './stream-request.js';
