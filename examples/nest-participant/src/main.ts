import { bootstrap, connectParticipant } from '@ordo/participant';
import { ShippingConfig } from './shipping.config';
import { ShippingModule } from './shipping.module';

void bootstrap({
  name: 'shipping',
  module: ShippingModule,
  config: ShippingConfig,
  description: 'Shipping: books couriers and prints labels for checkouts.',
  connect: (app) => connectParticipant(app, 'shipping'),
});
