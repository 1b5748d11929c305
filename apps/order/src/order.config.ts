import { ParticipantConfig } from '@ordo/participant';

export class OrderConfig extends ParticipantConfig {
  override PORT = 3001;
  override DATABASE_SCHEMA = 'orders';
}
