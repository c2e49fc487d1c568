import { SSE_LIMITS, topicProblem } from '../../sse/src/sse-wire.rules.js';

/**
 * The topics a stream subscribes to, checked with the server's own rule before
 * anything is sent: duplicates removed (first occurrence kept), then at most
 * `SSE_LIMITS.topicsPerStream`. Throws a `TypeError` for a name the server would
 * refuse and a `RangeError` for too many: a request the server would answer with a
 * 400 is a mistake in the app, not something to retry.
 */
export function resolveTopics(topics: readonly string[] | undefined): readonly string[] {
  if (topics === undefined) return [];
  if (!Array.isArray(topics)) throw new TypeError(`topics must be an array of topic names, got ${typeof topics}`);
  topics.forEach((topic: unknown, index) => {
    const problem = topicProblem(topic);
    if (problem !== undefined) throw new TypeError(`topics[${index}]: ${problem}`);
  });
  const unique = [...new Set(topics)];
  if (unique.length > SSE_LIMITS.topicsPerStream) {
    throw new RangeError(`A stream subscribes to at most ${SSE_LIMITS.topicsPerStream} topics, got ${unique.length}`);
  }
  return Object.freeze(unique);
}
