import { Module } from '@nestjs/common';
import { ParticipantModule } from '@ordo/participant';
import { PlatformModule } from '@ordo/platform';
import { InventoryConfig } from './inventory.config';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'inventory', config: InventoryConfig, database: { migrations: [] } }),
    ParticipantModule.forRoot({ name: 'inventory' }),
  ],
})
export class InventoryModule {}
