import { SseTopic, type SseTopicPolicy, type SseUser } from '@nest-sse/server';

import { ADMIN_STATS_TOPIC } from './admin-stats.js';

/** Who may watch the live figures: admins (the token's `roles` claim), nobody else. */
@SseTopic(ADMIN_STATS_TOPIC)
export class AdminStatsPolicy implements SseTopicPolicy {
  canSubscribe(user: SseUser): boolean {
    return user.roles?.includes('admin') === true;
  }
}
