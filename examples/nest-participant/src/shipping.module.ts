import { Module } from '@nestjs/common';
import { ParticipantModule, PlatformModule } from '@ordo/participant';
import { migrations } from './migrations';
import { ShipmentHandlers } from './shipments.handlers';
import { ShippingConfig } from './shipping.config';

@Module({
  imports: [
    // Settings, PostgreSQL (migrated at start), Kafka, health, metrics, logs.
    PlatformModule.forApp({ name: 'shipping', config: ShippingConfig, database: { migrations } }),
    // Consumes `shipping.commands` and routes each command to its handler.
    ParticipantModule.forRoot({ name: 'shipping' }),
  ],
  providers: [ShipmentHandlers],
})
export class ShippingModule {}
