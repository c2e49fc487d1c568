import { Injectable, Logger } from '@nestjs/common';

import type { SseDisconnectReason } from './sse-stats.collector.js';

/**
 * A stream, as lifecycle listeners see it.
 *
 * @publicApi
 */
export interface SseStreamInfo {
  readonly userId: string;
  readonly topics: readonly string[];
}

/**
 * What happens to streams and users, for code that reacts to it (the bridge
 * turns each into an `EventEmitter2` event: `sse.connected`, `sse.disconnected`,
 * `sse.user.online`, `sse.user.offline`). Every method is optional.
 *
 * @publicApi
 */
export interface SseLifecycleListener {
  connected?(stream: SseStreamInfo): void;
  disconnected?(stream: SseStreamInfo, reason: SseDisconnectReason): void;
  /** The user's first stream opened (on this instance, or in the cluster with a transport that keeps presence). */
  userOnline?(userId: string): void;
  /** The user's last stream closed (idem). */
  userOffline?(userId: string): void;
}

/**
 * Where the module tells lifecycle listeners what happened. A listener that
 * throws is logged and does not stop the others, nor the stream.
 *
 * @publicApi
 */
@Injectable()
export class SseLifecycleHub {
  private readonly logger = new Logger('SseLifecycle');
  private listeners: readonly SseLifecycleListener[] = [];

  /** Adds a listener; returns what removes it. */
  listen(listener: SseLifecycleListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((other) => other !== listener);
    };
  }

  connected(stream: SseStreamInfo): void {
    for (const listener of this.listeners) this.call(() => listener.connected?.(stream));
  }

  disconnected(stream: SseStreamInfo, reason: SseDisconnectReason): void {
    for (const listener of this.listeners) this.call(() => listener.disconnected?.(stream, reason));
  }

  userOnline(userId: string): void {
    for (const listener of this.listeners) this.call(() => listener.userOnline?.(userId));
  }

  userOffline(userId: string): void {
    for (const listener of this.listeners) this.call(() => listener.userOffline?.(userId));
  }

  private call(notify: () => void): void {
    try {
      notify();
    } catch (err) {
      this.logger.error(`a lifecycle listener threw: ${(err as Error)?.message ?? err}`);
    }
  }
}
