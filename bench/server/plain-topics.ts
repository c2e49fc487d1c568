/**
 * Plain's counterpart of what the module's route checks of `?topic=` on each
 * connect: the name rule and limits (`SSE_LIMITS`, restated: plain imports
 * nothing from the module, as it has its own token check and frames), then a
 * policy per topic. Plain finds a topic's policy by its first segment (a Map
 * lookup, where the module matches `@SseTopic()` patterns).
 */
const TOPIC_LENGTH = 200;
const TOPICS_PER_STREAM = 20;
const TOPIC_NAME = /^[A-Za-z0-9._~:@-]+(?:\/[A-Za-z0-9._~:@-]+)*$/;

/** The benchmark's one policy, as the module variants declare it with `@SseTopic('bench/:n')`: anyone may subscribe. */
const POLICIES = new Map<string, (user: string, rest: string) => boolean>([
  ['bench', (_user, rest) => !rest.includes('/')],
]);

/** The stream's topics without duplicates, or the status refusing the connect: 400 for a bad name or too many, 403 for a topic no policy allows. */
export function checkPlainTopics(user: string, asked: readonly string[]): string[] | 400 | 403 {
  const topics = [...new Set(asked)];
  if (topics.length > TOPICS_PER_STREAM) return 400;
  for (const topic of topics) if (topic.length > TOPIC_LENGTH || !TOPIC_NAME.test(topic)) return 400;
  for (const topic of topics) {
    const slash = topic.indexOf('/');
    const policy = slash < 0 ? undefined : POLICIES.get(topic.slice(0, slash));
    if (!policy?.(user, topic.slice(slash + 1))) return 403;
  }
  return topics;
}
