import type { AdminStatsEventData } from '../../admin/admin-stats.js';
import type { OrderTopicEventData } from '../../notifications/order-topic.js';

export type { AdminStatsEventData, OrderTopicEventData };

/** What the demo's events carry (see src/notifications and src/announcements). */
export interface DemoEventData {
  kind?: string;
  orderId?: string;
  item?: string;
  quantity?: number;
  status?: string;
  message?: string;
}

/** The stream's event types the dashboard handles, with their data. */
export interface DemoEvents {
  notification: DemoEventData;
  update: DemoEventData;
  /** An order's topic (`orders/<orderId>`): only on streams subscribed to it. */
  order: OrderTopicEventData;
  /** The admin view's figures (`admin/stats`): only on streams subscribed to it. */
  stats: AdminStatsEventData;
}
