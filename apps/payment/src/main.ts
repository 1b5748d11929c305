import { connectParticipant } from '@ordo/participant';
import { bootstrap } from '@ordo/platform';
import { PaymentConfig } from './payment.config';
import { PaymentModule } from './payment.module';

void bootstrap({
  name: 'payment',
  module: PaymentModule,
  config: PaymentConfig,
  description: 'Payment: accounts, charges and refunds.',
  connect: (app) => connectParticipant(app, 'payment'),
});
