import { Module } from '@nestjs/common';

import { AdminStatsPolicy } from './admin-stats.policy.js';
import { AdminStatsPublisher } from './admin-stats.publisher.js';

/** The admin view's server side: who may watch `admin/stats`, and what publishes to it. */
@Module({ providers: [AdminStatsPolicy, AdminStatsPublisher] })
export class AdminModule {}
