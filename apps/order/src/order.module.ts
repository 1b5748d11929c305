import { Module } from '@nestjs/common';
import { ParticipantModule } from '@ordo/participant';
import { PlatformModule } from '@ordo/platform';
import { OrderConfig } from './order.config';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'order', config: OrderConfig, database: { migrations: [] } }),
    ParticipantModule.forRoot({ name: 'order' }),
  ],
})
export class OrderModule {}
