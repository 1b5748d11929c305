import { ParticipantConfig } from '@ordo/participant';

/** The service's settings: everything a participant reads (DATABASE_URL, KAFKA_BROKERS …), from the environment. */
export class ShippingConfig extends ParticipantConfig {
  override PORT = 3010;
  override DATABASE_SCHEMA = 'shipping';
}
