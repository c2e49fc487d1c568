import { Injectable, Logger } from '@nestjs/common';

import type { SseUser } from '../auth/sse-user.js';
import { SseTopicForbiddenError } from '../sse.exceptions.js';
import type { SseTopicPolicy } from './sse-topic.decorator.js';
import type { SseTopicPattern } from './sse-topic.pattern.js';

interface TopicDeclaration {
  readonly pattern: SseTopicPattern;
  readonly policy: SseTopicPolicy;
  /** The declaring class, for errors and logs. */
  readonly name: string;
}

/**
 * Decides whether a user may subscribe to topics, from the `@SseTopic()`
 * declarations `SseTopicExplorer` found. The module's route asks it on every
 * connect; inject it to check topics on your own route before
 * `SseService.stream(userId, { topics })`.
 *
 * @publicApi
 */
@Injectable()
export class SseTopicAuthorizer {
  private readonly logger = new Logger('SseTopics');
  private readonly declarations: TopicDeclaration[] = [];

  /** Adds a declaration; throws when its pattern could match a topic another one matches. */
  declare(pattern: SseTopicPattern, policy: SseTopicPolicy, name: string): void {
    const clash = this.declarations.find((declared) => declared.pattern.overlaps(pattern));
    if (clash) {
      throw new Error(
        `@SseTopic('${pattern.source}') on ${name} overlaps @SseTopic('${clash.pattern.source}') on ${clash.name}: a topic must have one policy`,
      );
    }
    this.declarations.push({ pattern, policy, name });
  }

  /**
   * Resolves when the user may subscribe to every one of `topics`; otherwise
   * rejects with `SseTopicForbiddenError` (403) naming each refused one: a topic
   * no declaration matches, one whose policy did not return `true`, or threw
   * (logged). Policies of different topics run concurrently.
   */
  async authorize(user: SseUser, topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    const allowed = await Promise.all(topics.map((topic) => this.allows(user, topic)));
    const refused = topics.filter((_, i) => !allowed[i]);
    if (refused.length > 0) throw new SseTopicForbiddenError(refused);
  }

  private async allows(user: SseUser, topic: string): Promise<boolean> {
    for (const { pattern, policy, name } of this.declarations) {
      const params = pattern.match(topic);
      if (params === undefined) continue;
      try {
        return (await policy.canSubscribe(user, params, topic)) === true;
      } catch (err) {
        this.logger.error(`${name}.canSubscribe threw for topic ${topic}: ${(err as Error)?.message ?? String(err)}`);
        return false;
      }
    }
    return false;
  }
}
