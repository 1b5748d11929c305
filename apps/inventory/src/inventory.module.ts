import { Module } from '@nestjs/common';
import { ParticipantModule } from '@ordo/participant';
import { PlatformModule } from '@ordo/platform';
import { inventoryMigrations } from '../../../migrations/inventory';
import { InventoryConfig } from './inventory.config';
import { StockModule } from './stock/stock.module';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'inventory', config: InventoryConfig, database: { migrations: inventoryMigrations } }),
    ParticipantModule.forRoot({ name: 'inventory' }),
    StockModule,
  ],
})
export class InventoryModule {}
