import { ParticipantConfig } from '@ordo/participant';

export class InventoryConfig extends ParticipantConfig {
  override PORT = 3002;
  override DATABASE_SCHEMA = 'inventory';
}
