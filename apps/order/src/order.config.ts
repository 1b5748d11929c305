import { AppConfig } from '@ordo/platform';

export class OrderConfig extends AppConfig {
  override PORT = 3001;
  override DATABASE_SCHEMA = 'orders';
}
