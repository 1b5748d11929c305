import { connectParticipant } from '@ordo/participant';
import { bootstrap } from '@ordo/platform';
import { OrderConfig } from './order.config';
import { OrderModule } from './order.module';

void bootstrap({
  name: 'order',
  module: OrderModule,
  config: OrderConfig,
  description: 'Orders: create, confirm and cancel customer orders.',
  connect: (app) => connectParticipant(app, 'order'),
});
