import type { SseEventId, SseResetReason } from '@nest-sse/protocol';

import type { SseHistoryStore } from '../history/sse-history-store.interface.js';
import type { SseTicketStore, SseTicketStoreOptions } from '../tickets/sse-ticket-store.interface.js';
import type { SseFrame } from '../wire/sse-frame.js';

/**
 * Who an event is for: some users, the subscribers of a topic, or every stream.
 *
 * @publicApi
 */
export type SseAudience =
  | { readonly kind: 'users'; readonly userIds: readonly string[] }
  | { readonly kind: 'topic'; readonly topic: string }
  | { readonly kind: 'all' };

/**
 * An event as `SseService` hands it to the transport: checked against the wire
 * rules and JSON-encoded, before it has its id.
 *
 * @publicApi
 */
export interface SseOutgoingEvent {
  readonly audience: SseAudience;
  readonly type: string;
  /** The data, already JSON text. */
  readonly data: string;
  /** A caller's own id: only with `history: false`, where ids order nothing. */
  readonly id?: string;
}

/**
 * Where a transport hands the events it receives: this instance's streams
 * (the connection registry). Returns the number of streams reached.
 *
 * @publicApi
 */
export interface SseDeliveryTarget {
  deliver(audience: SseAudience, frame: SseFrame): number;
  /**
   * Every stream here gets a `reset` (`reason`) with id `id`, counted by reason: a transport
   * whose store lost events its streams may not have had yet (`history-lost`), at the id after
   * which nothing was lost. Optional for a target of one's own: the transport then delivers the
   * reset frame to audience `all`.
   */
  reset?(reason: SseResetReason, id: string): number;
}

/**
 * How events travel from `SseService` to the streams that should get them, and
 * where their ids come from. The default (`MemorySseTransport`) does it inside
 * this process; a cluster transport (`@nest-sse/server/redis`) carries each
 * event to every instance, with ids ordered across all of them. Chosen with
 * the module's `transport` option.
 *
 * @publicApi
 */
export interface SseTransport {
  /** Starts receiving, once, at bootstrap: from then on every published event reaches `target` once, in publish order. */
  connect(target: SseDeliveryTarget): void | Promise<void>;
  /**
   * Publishes the event with the next id. Returns the number of this instance's
   * streams reached when delivery is synchronous, `undefined` when it happens
   * later. Throws (`SseTransportError`) when it cannot take the event: nothing
   * is ever dropped without the caller knowing.
   */
  publish(event: SseOutgoingEvent): number | undefined;
  /** The newest id delivered here: where a stream that opens now starts. */
  position(): string;
  /**
   * Whether a client's Last-Event-ID can be resumed from here (`false` is an
   * `unknown-id` reset). A cluster transport leaves it to its history.
   */
  knows(id: SseEventId): boolean;
  /** Stops receiving and lets go of connections, at shutdown (after the streams ended). */
  close?(): void | Promise<void>;
  /**
   * Resolves when what the transport depends on answers within `timeoutMs`,
   * rejects otherwise: what health checks ask (`@nest-sse/server/health`). Absent:
   * nothing outside this process, always healthy.
   */
  ping?(timeoutMs: number): Promise<void>;
  /** A history the transport keeps itself (a cluster's shared log): used instead of `history.store`. */
  readonly history?: SseHistoryStore;
  /** Who holds streams across the cluster, for the per-user limit and counts; absent: this instance's registry is all there is. */
  readonly presence?: SsePresence;
  /**
   * A ticket store every instance shares, made once by the module with its `tickets`
   * options: a ticket issued by one instance is redeemed on any other, once. Absent:
   * tickets live in each instance's memory (`tickets.store` replaces either).
   */
  createTicketStore?(options: SseTicketStoreOptions): SseTicketStore;
}

/**
 * One stream's place in the cluster-wide count, held until `release()`. A
 * cluster transport keeps it alive while its instance runs, so the slots of an
 * instance that crashed come back on their own.
 *
 * @publicApi
 */
export interface SsePresenceSlot {
  release(): void;
}

/**
 * Streams across every instance: the per-user limit holds across them, and
 * `SseService.clusterConnectionCount()` answers for all of them.
 *
 * @publicApi
 */
export interface SsePresence {
  /** Takes a slot for a stream of the user, or `undefined` when the user holds `limit` already (a 429). */
  acquire(userId: string, limit: number): Promise<SsePresenceSlot | undefined>;
  /** Open streams of one user, or of everyone, on every instance. */
  count(userId?: string): Promise<number>;
  /**
   * Tells `listener` when a user's first stream in the cluster opens (0 -> 1) and
   * their last closes (1 -> 0), as the slots this instance takes and releases
   * find them; returns what stops it. With it, the lifecycle's `userOnline` /
   * `userOffline` are the cluster's; without it, this instance's.
   */
  watch?(listener: SsePresenceListener): () => void;
}

/**
 * Cluster-wide transitions of a user, reported by the instance whose slot made
 * them: each one once across the cluster.
 *
 * @publicApi
 */
export interface SsePresenceListener {
  userOnline(userId: string): void;
  userOffline(userId: string): void;
}
