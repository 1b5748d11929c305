import { AppConfig } from '@ordo/platform';

export class InventoryConfig extends AppConfig {
  override PORT = 3002;
  override DATABASE_SCHEMA = 'inventory';
}
