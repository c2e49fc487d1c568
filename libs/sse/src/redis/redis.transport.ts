import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';

import { SseEventError, SseTransportError } from '../sse.exceptions.js';
import type { SseTicketStoreOptions } from '../tickets/sse-ticket-store.interface.js';
import type { SseDeliveryTarget, SseOutgoingEvent, SseTransport } from '../transport/sse-transport.interface.js';
import { defineScripts, type RedisScripts } from './redis.scripts.js';
import { RedisHistoryStore } from './redis-history.store.js';
import { RedisLogReader } from './redis-log.reader.js';
import { RedisLogWriter } from './redis-log.writer.js';
import { RedisSsePresence } from './redis-presence.js';
import { RedisTicketStore } from './redis-ticket.store.js';
import {
  type RedisSseTransportOptions,
  type ResolvedRedisSseTransportOptions,
  resolveRedisTransportOptions,
} from './redis-transport.options.js';

/**
 * Several instances as one, through Redis. Every event goes into one Redis
 * Stream, the cluster log, whose ids Redis issues in one order for the whole
 * cluster; each instance reads the log and hands every event to its own
 * streams. The same atomic step writes the event to the history logs of its
 * recipients (Streams with the same ids), so a client resumes on any instance.
 * Stream slots are counted in Redis too, so `maxConnectionsPerUser` holds across
 * instances, and stream tickets live there (`createTicketStore`), so a ticket
 * issued by one instance opens a stream on any other, once.
 *
 * `publish` returns before the event is in Redis (sends report this
 * instance's streams for the audience); while Redis is away up to
 * `maxPendingPublishes` wait for it, past that a publish throws `SseTransportError`.
 *
 * @publicApi
 */
export class RedisSseTransport implements SseTransport {
  readonly history: RedisHistoryStore;
  readonly presence: RedisSsePresence;
  private readonly logger = new Logger('RedisSseTransport');
  private readonly options: ResolvedRedisSseTransportOptions;
  /** Publishes, history reads and slots: its commands wait in ioredis's offline queue while Redis is away. */
  private readonly writer: Redis & RedisScripts;
  /** The cluster log reader's own connection (XREAD blocks it): its commands fail at once, the reader retries. */
  private readonly readerClient: Redis & RedisScripts;
  private readonly reader: RedisLogReader;
  private readonly logWriter: RedisLogWriter;
  private closed = false;
  private writerDown = false;

  constructor(options: RedisSseTransportOptions) {
    this.options = resolveRedisTransportOptions(options);
    const { redis, keys } = this.options;
    // Commands wait for Redis however long it is away (bounded by maxPendingPublishes), and retry after a reconnect.
    this.writer = defineScripts(connection(redis, { maxRetriesPerRequest: null, enableOfflineQueue: true }));
    this.readerClient = defineScripts(
      connection(redis, { maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false }),
    );
    this.writer.on('error', (err: Error) => {
      if (!this.writerDown)
        this.logger.warn(
          `Redis connection lost (${err.message}): publishes wait for it, up to ${this.options.maxPendingPublishes}`,
        );
      this.writerDown = true;
    });
    this.writer.on('ready', () => {
      if (this.writerDown) this.logger.log('Redis connection back');
      this.writerDown = false;
    });
    // The reader says so itself, once per outage.
    this.readerClient.on('error', () => undefined);
    this.reader = new RedisLogReader(this.readerClient, keys);
    this.logWriter = new RedisLogWriter(this.writer, this.options, () => this.reader.floor());
    this.history = new RedisHistoryStore(this.writer, keys, this.options, this.reader);
    this.presence = new RedisSsePresence(this.writer, keys, this.options);
  }

  /**
   * The module's ticket store on this transport (it calls this once, with its
   * `tickets` options): tickets in Redis under the key prefix, redeemed once on
   * any instance (`RedisTicketStore`). It uses the publishing connection, once
   * `connect()` made it ready.
   */
  createTicketStore(options: SseTicketStoreOptions): RedisTicketStore {
    return new RedisTicketStore(this.writer, this.options.keys, options);
  }

  /** Connects (failing after `connectTimeoutMs`) and reads the cluster log from its newest entry on. */
  async connect(target: SseDeliveryTarget): Promise<void> {
    const { keys, connectTimeoutMs } = this.options;
    try {
      await Promise.all([whenReady(this.writer, connectTimeoutMs), whenReady(this.readerClient, connectTimeoutMs)]);
    } catch (err) {
      await this.close();
      throw err;
    }
    this.reader.start(target, await this.writer.sseBoot(keys.log, keys.epoch));
    this.presence.start();
  }

  publish({ audience, type, data, id }: SseOutgoingEvent): undefined {
    if (id !== undefined) {
      throw new SseEventError(
        'RedisSseTransport: event ids are assigned by Redis (they order the cluster); put your own ids in data',
      );
    }
    if (this.closed) throw new SseTransportError('RedisSseTransport: closed, the event was not sent');
    this.logWriter.write(audience, type, data);
    return undefined;
  }

  position(): string {
    return this.reader.position();
  }

  /** Any id may be resumed from: the shared history tells (`unknown-id` included). */
  knows(): boolean {
    return true;
  }

  /**
   * Resolves when Redis answers PING within `timeoutMs`. Rejects at once while a
   * connection is down (a PING would wait in the offline queue) or closed. The
   * log reader's connection blocks in XREAD, so its state is what tells.
   */
  async ping(timeoutMs: number): Promise<void> {
    if (this.closed) throw new SseTransportError('RedisSseTransport: closed');
    for (const [name, client] of [
      ['publishing', this.writer],
      ['reading', this.readerClient],
    ] as const) {
      if (client.status !== 'ready')
        throw new SseTransportError(`Redis is unreachable: its ${name} connection is ${client.status}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SseTransportError(`Redis did not answer PING within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    await Promise.race([this.writer.ping(), timeout]).finally(() => clearTimeout(timer));
  }

  /** Publishes handed over and not yet written to Redis. */
  pendingPublishCount(): number {
    return this.logWriter.pendingCount();
  }

  /** Publishes that Redis finally refused or that were still waiting at `close()` (each logged with its type). */
  failedPublishCount(): number {
    return this.logWriter.failedCount();
  }

  /** Stops reading and renewing slots and closes its connections (never a client it was given). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.presence.stop();
    await this.reader.stop();
    // Publishes already handed over are written while Redis answers; none waits on a Redis that is away.
    if (this.writer.status === 'ready') {
      this.logWriter.flush();
      await this.writer.quit().catch(() => this.writer.disconnect());
      return;
    }
    // ioredis leaves its offline queue unsettled when closed between two reconnect attempts: say here what is lost.
    this.logWriter.abandon();
    this.writer.disconnect();
  }
}

/** A connection of the transport's own, connected by `connect()`. The client's keyPrefix is not used: see `keyPrefix`. */
function connection(redis: string | RedisOptions | Redis, overrides: RedisOptions): Redis {
  // disconnectTimeout: ioredis waits that long on a socket that already closed when it is
  // disconnected between reconnect attempts; closing the transport must not keep a process up.
  const own: RedisOptions = { ...overrides, lazyConnect: true, keyPrefix: '', disconnectTimeout: 200 };
  if (typeof redis === 'string') return new Redis(redis, own);
  if (redis instanceof Redis) return redis.duplicate(own);
  return new Redis({ ...redis, ...own });
}

function whenReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', ready);
      reject(
        new SseTransportError(`RedisSseTransport: Redis did not answer within ${timeoutMs} ms (connectTimeoutMs)`),
      );
    }, timeoutMs);
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', ready);
    // Failures are retried by ioredis's own strategy until the timeout.
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
}
