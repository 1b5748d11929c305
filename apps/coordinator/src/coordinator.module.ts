import { Module } from '@nestjs/common';
import { PlatformModule } from '@ordo/platform';
import { coordinatorMigrations } from '../../../migrations/coordinator';
import { CoordinatorConfig } from './config/coordinator.config';
import { OutboxModule } from './outbox/outbox.module';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'coordinator', config: CoordinatorConfig, database: { migrations: coordinatorMigrations } }),
    OutboxModule,
  ],
})
export class CoordinatorModule {}
