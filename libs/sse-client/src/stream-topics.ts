import { checkTopics } from '@nest-sse/protocol';

/**
 * The topics a stream subscribes to, checked with the server's own rule
 * (`checkTopics`: names, at most `SSE_LIMITS.topicsPerStream`, duplicates removed)
 * before anything is sent. Throws a `TypeError` for what the server would answer
 * with a 400: that is a mistake in the app, not something to retry.
 */
export function resolveTopics(topics: readonly string[] | undefined): readonly string[] {
  if (topics === undefined) return [];
  if (!Array.isArray(topics)) throw new TypeError(`topics must be an array of topic names, got ${typeof topics}`);
  const checked = checkTopics(topics);
  if (typeof checked === 'string') throw new TypeError(`Bad topics: ${checked}`);
  return Object.freeze(checked);
}
