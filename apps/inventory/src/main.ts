import { connectParticipant } from '@ordo/participant';
import { bootstrap } from '@ordo/platform';
import { InventoryConfig } from './inventory.config';
import { InventoryModule } from './inventory.module';

void bootstrap({
  name: 'inventory',
  module: InventoryModule,
  config: InventoryConfig,
  description: 'Inventory: products, stock and reservations.',
  connect: (app) => connectParticipant(app, 'inventory'),
});
