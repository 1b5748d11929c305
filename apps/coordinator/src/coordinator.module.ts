import { Module } from '@nestjs/common';
import { PlatformModule } from '@ordo/platform';
import { coordinatorMigrations } from '../../../migrations/coordinator';
import { CoordinatorConfig } from './config/coordinator.config';
import { DefinitionsModule } from './definitions/definitions.module';
import { TransactionsModule } from './transactions/transactions.module';
import { OutboxModule } from './outbox/outbox.module';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'coordinator', config: CoordinatorConfig, database: { migrations: coordinatorMigrations } }),
    OutboxModule,
    DefinitionsModule,
    TransactionsModule,
  ],
})
export class CoordinatorModule {}
