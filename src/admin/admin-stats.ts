/**
 * The admin view's live figures, as the stream's clients see them. The dashboard
 * bundles this file: it imports nothing.
 */

/** The topic admins subscribe to (`?topic=admin/stats`); its policy allows only role `admin`. */
export const ADMIN_STATS_TOPIC = 'admin/stats';

/** The SSE event type of what the topic receives. */
export const ADMIN_STATS_EVENT_TYPE = 'stats';

/** How often the figures are published while someone watches. */
export const ADMIN_STATS_INTERVAL_MS = 1_000;

/** The data of a `stats` event: this instance's figures (`SseService.stats()`). */
export interface AdminStatsEventData {
  /**
   * The instance the figures are from (`host:pid`): with the Redis transport, every
   * instance holding an admin stream publishes its own, and the view lists them side by side.
   */
  instance: string;
  /** Open streams now (the admin view's own included). */
  openStreams: number;
  /** Users with at least one open stream now. */
  connectedUsers: number;
  /** Events published per second over the last interval, not counting these `stats` events. */
  eventsPerSecond: number;
  /** Streams dropped for not reading (`slow_client`), since startup. */
  drops: number;
  /** When the figures were read (ISO 8601). */
  at: string;
}
