import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';

import type { SseUser } from '../auth/sse-user.js';
import { SseTopicPattern } from './sse-topic.pattern.js';

/** Metadata key under which `@SseTopic()` records its pattern. */
export const SSE_TOPIC_METADATA = 'sse:topic';

/**
 * Who may subscribe to the topics an `@SseTopic()` pattern matches. Return
 * `true` to allow (anything else refuses); sync or async; a throw refuses too
 * (and is logged). Asked on every connect and reconnect.
 *
 * @publicApi
 */
export interface SseTopicPolicy<
  TParams extends Record<string, string> = Record<string, string>,
  TUser extends SseUser = SseUser,
> {
  canSubscribe(user: TUser, params: TParams, topic: string): boolean | Promise<boolean>;
}

/**
 * Declares a provider as the policy of the topics `pattern` matches: segments
 * joined by `/`, each a literal or a `:name` parameter (one segment), e.g.
 * `'orders/:orderId'`. List the class in a module's `providers`, with its own
 * dependencies; `SseModule` finds it at bootstrap. A stream may subscribe only
 * to topics some declaration matches and allows. Two patterns that could match
 * the same topic are refused at bootstrap.
 *
 * ```ts
 * @SseTopic('orders/:orderId')
 * export class OrderTopic implements SseTopicPolicy<{ orderId: string }> {
 *   constructor(private readonly orders: OrdersService) {}
 *   canSubscribe(user: SseUser, { orderId }: { orderId: string }) {
 *     return this.orders.isOwnedBy(orderId, user.userId);
 *   }
 * }
 * ```
 *
 * @publicApi
 */
export function SseTopic(pattern: string): ClassDecorator {
  // Checked here, so a bad pattern fails where it is written.
  SseTopicPattern.compile(pattern);
  return applyDecorators(Injectable(), SetMetadata(SSE_TOPIC_METADATA, pattern));
}
