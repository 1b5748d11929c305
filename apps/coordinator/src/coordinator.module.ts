import { Module } from '@nestjs/common';
import { PlatformModule } from '@ordo/platform';
import { coordinatorMigrations } from '../../../migrations/coordinator';
import { AuthModule } from './auth/auth.module';
import { CoordinatorConfig } from './config/coordinator.config';
import { DefinitionsModule } from './definitions/definitions.module';
import { TransactionsModule } from './transactions/transactions.module';
import { OutboxModule } from './outbox/outbox.module';
import { RetentionModule } from './retention/retention.module';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'coordinator', config: CoordinatorConfig, database: { migrations: coordinatorMigrations } }),
    AuthModule,
    OutboxModule,
    DefinitionsModule,
    TransactionsModule,
    RetentionModule,
  ],
})
export class CoordinatorModule {}
