import 'reflect-metadata';

import { SseTopic, type SseTopicPolicy } from '@nest-sse/server';

/**
 * The benchmark's topics, `bench/<n>`, for the module variants: anyone may
 * subscribe, so the topic phase measures the module's own path on each connect
 * (name checks, pattern match, policy call) against plain's counterpart
 * (`checkPlainTopics` in `plain.ts`), not a policy's work.
 */
@SseTopic('bench/:n')
export class BenchTopicPolicy implements SseTopicPolicy {
  canSubscribe(): boolean {
    return true;
  }
}
