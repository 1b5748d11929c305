import { Module } from '@nestjs/common';
import { ParticipantModule } from '@ordo/participant';
import { PlatformModule } from '@ordo/platform';
import { orderMigrations } from '../../../migrations/order';
import { OrderConfig } from './order.config';
import { OrdersModule } from './orders/orders.module';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'order', config: OrderConfig, database: { migrations: orderMigrations } }),
    ParticipantModule.forRoot({ name: 'order' }),
    OrdersModule,
  ],
})
export class OrderModule {}
