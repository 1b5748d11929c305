import { bootstrap } from '@ordo/platform';
import { CoordinatorConfig } from './config/coordinator.config';
import { CoordinatorModule } from './coordinator.module';

void bootstrap({
  name: 'coordinator',
  module: CoordinatorModule,
  config: CoordinatorConfig,
  description: 'Ordo coordinates sagas, TCC and two-phase commit across services over Kafka.',
});
