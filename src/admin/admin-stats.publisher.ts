import { hostname } from 'node:os';

import { SseLifecycleHub, SseService, type SseStats } from '@nest-sse/server';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';

import {
  ADMIN_STATS_EVENT_TYPE,
  ADMIN_STATS_INTERVAL_MS,
  ADMIN_STATS_TOPIC,
  type AdminStatsEventData,
} from './admin-stats.js';

interface Sample {
  at: number;
  /** Events published since startup, these `stats` events left out. */
  published: number;
}

/**
 * Publishes this instance's figures to `admin/stats` every second while a stream
 * here is subscribed to it, and not otherwise: an admin stream's connect starts the
 * timer, and the first publish that reaches no stream stops it. The view is fed by
 * the stream itself, so it needs no polling endpoint.
 */
@Injectable()
export class AdminStatsPublisher implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('AdminStats');
  private readonly instance = `${hostname()}:${process.pid}`;
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  private base: Sample | undefined;
  /** Over the last full interval; 0 until one has passed. */
  private eventsPerSecond = 0;
  /** The `stats` events this publisher sent: they are not the app's traffic. */
  private sent = 0;

  constructor(
    private readonly sse: SseService,
    private readonly lifecycle: SseLifecycleHub,
  ) {}

  onModuleInit(): void {
    this.stopListening = this.lifecycle.listen({
      connected: ({ topics }) => {
        if (topics.includes(ADMIN_STATS_TOPIC)) this.watched();
      },
    });
  }

  onModuleDestroy(): void {
    this.stopListening?.();
    this.stop();
  }

  /** A new admin stream: figures at once (outside the connect that tells us), then every interval. */
  private watched(): void {
    if (!this.timer) {
      this.base = this.sample(this.sse.stats());
      this.eventsPerSecond = 0;
      this.timer = setInterval(() => this.tick(), ADMIN_STATS_INTERVAL_MS);
      this.timer.unref();
    }
    setImmediate(() => this.publish(this.sse.stats()));
  }

  private tick(): void {
    const stats = this.sse.stats();
    const now = this.sample(stats);
    if (this.base && now.at > this.base.at) {
      this.eventsPerSecond = round1(((now.published - this.base.published) * 1000) / (now.at - this.base.at));
    }
    this.base = now;
    this.publish(stats);
  }

  private publish(stats: SseStats): void {
    if (!this.timer) return;
    const data: AdminStatsEventData = {
      instance: this.instance,
      openStreams: stats.openStreams,
      connectedUsers: stats.connectedUsers,
      eventsPerSecond: this.eventsPerSecond,
      drops: stats.disconnects.slow_client,
      at: new Date().toISOString(),
    };
    let reached: number;
    try {
      reached = this.sse.publish(ADMIN_STATS_TOPIC, { type: ADMIN_STATS_EVENT_TYPE, data });
    } catch (err) {
      // A transport outage: the next tick tries again.
      this.logger.warn(`could not publish the admin figures: ${(err as Error)?.message ?? err}`);
      return;
    }
    this.sent++;
    if (reached === 0) this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(stats: SseStats): Sample {
    const { byTarget } = stats.published;
    const published = byTarget.user + byTarget.users + byTarget.broadcast + byTarget.topic;
    return { at: Date.now(), published: published - this.sent };
  }
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
