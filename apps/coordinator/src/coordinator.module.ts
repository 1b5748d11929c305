import { Module } from '@nestjs/common';
import { PlatformModule } from '@ordo/platform';
import { coordinatorMigrations } from '../../../migrations/coordinator';
import { AuthModule } from './auth/auth.module';
import { CoordinatorConfig } from './config/coordinator.config';
import { DashboardModule } from './dashboard/dashboard.module';
import { DefinitionsModule } from './definitions/definitions.module';
import { InDoubtModule } from './in-doubt/in-doubt.module';
import { TransactionsModule } from './transactions/transactions.module';
import { OutboxModule } from './outbox/outbox.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RetentionModule } from './retention/retention.module';
import { StatsModule } from './stats/stats.module';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'coordinator', config: CoordinatorConfig, database: { migrations: coordinatorMigrations } }),
    AuthModule,
    // After authentication: an unknown key is refused (and limited) there, never counted here.
    RateLimitModule,
    OutboxModule,
    DefinitionsModule,
    TransactionsModule,
    InDoubtModule,
    RetentionModule,
    StatsModule,
    DashboardModule,
  ],
})
export class CoordinatorModule {}
