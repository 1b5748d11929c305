import { ParticipantConfig } from '@ordo/participant';

export class PaymentConfig extends ParticipantConfig {
  override PORT = 3003;
  override DATABASE_SCHEMA = 'payment';
}
