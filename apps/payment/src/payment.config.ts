import { AppConfig } from '@ordo/platform';

export class PaymentConfig extends AppConfig {
  override PORT = 3003;
  override DATABASE_SCHEMA = 'payment';
}
