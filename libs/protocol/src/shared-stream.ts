/**
 * Shared streams (`?shared=1`): one stream a client holds for several subscribers,
 * whose topic events carry their topic in their data.
 */

/**
 * The stream query parameter of a stream one client holds for several subscribers
 * (`?shared=1`, as `@nest-sse/client`'s tabs share one stream). On such a stream:
 * - an event published to a topic carries its topic as the first line of its data
 *   (`orders/1\n{"orderId":"1"}`), so the client can tell its subscribers' topics
 *   apart (see `untagTopicData`); events to users and broadcasts are never tagged;
 * - the opening is a `connected` event (data `null`) whose id is where the stream
 *   starts, so a client that takes the stream over knows where to resume even when
 *   no event arrived yet.
 * Absent: off, and the stream is written as for any other client.
 *
 * @publicApi
 */
export const SSE_SHARED_PARAM = 'shared';

/**
 * The `shared` query parameter as the route reads it: `false` when absent,
 * `true` for `1`, and a string saying why for anything else (another value, or
 * the parameter repeated), which the route answers with a 400.
 */
export function readShared(value: unknown): boolean | string {
  if (value === undefined) return false;
  if (value === '1') return true;
  return Array.isArray(value)
    ? `${SSE_SHARED_PARAM} must be given at most once`
    : // eslint-disable-next-line @typescript-eslint/no-base-to-string -- value is an unknown query value; "[object Object]" in the 400 message is acceptable
      `${SSE_SHARED_PARAM} must be 1 (or left out), got ${JSON.stringify(String(value).slice(0, 40))}`;
}

/**
 * A topic event's data as a shared stream carries it: the topic, a line feed,
 * then the data. A topic never holds a line break (`topicProblem`), and the
 * data of a published event is JSON on one line, so the first `\n` splits them.
 */
export function tagTopicData(topic: string, data: string): string {
  return `${topic}\n${data}`;
}

/**
 * Splits the `data` of an event from a shared stream (`?shared=1`) into its
 * topic and its own data, at the first line feed. Data without one (an event to
 * the user, a broadcast, the server's own events) has no topic and is returned as is.
 *
 * @publicApi
 */
export function untagTopicData(data: string): { topic: string | undefined; data: string } {
  const at = data.indexOf('\n');
  return at === -1 ? { topic: undefined, data } : { topic: data.slice(0, at), data: data.slice(at + 1) };
}
