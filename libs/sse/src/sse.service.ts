import { Injectable } from '@nestjs/common';
import { SseConnectionRegistry } from './sse-connection.registry.js';
import { assertUserId, SseEventError, toFrame, type SseEvent } from './sse-event.js';

/**
 * The publishing API. Every method validates the event at the call site (an
 * unsafe type or id throws `SseEventError` and nothing is sent), serialises it
 * once, and returns the number of open streams it was handed to.
 */
@Injectable()
export class SseService {
  constructor(private readonly registry: SseConnectionRegistry) {}

  sendToUser(userId: string, event: SseEvent): number {
    assertUserId(userId);
    return this.registry.publishToUser(userId, toFrame(event));
  }

  sendToUsers(userIds: Iterable<string>, event: SseEvent): number {
    const unique = new Set(userIds);
    unique.forEach((userId) => assertUserId(userId));
    const frame = toFrame(event);
    let delivered = 0;
    for (const userId of unique) delivered += this.registry.publishToUser(userId, frame);
    return delivered;
  }

  broadcast(event: SseEvent): number {
    return this.registry.publishToAll(toFrame(event));
  }

  /** Ends every open stream of the user (their EventSource will try to reconnect). */
  disconnectUser(userId: string): number {
    assertUserId(userId);
    return this.registry.disconnectUser(userId);
  }

  /** Open streams: of one user, or of everyone. */
  connectionCount(userId?: string): number {
    if (userId !== undefined) assertUserId(userId);
    return this.registry.connectionCount(userId);
  }

  /** Users with at least one open stream. */
  connectedUserCount(): number {
    return this.registry.connectedUserIds().length;
  }

  isConnected(userId: string): boolean {
    return this.connectionCount(userId) > 0;
  }
}

export { SseEventError };
