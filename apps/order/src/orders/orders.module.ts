import { Module } from '@nestjs/common';
import { OrdoStartsModule } from '@ordo/participant';
import { OrdersRepository } from './infrastructure/persistence/orders.repository';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';

@Module({
  imports: [OrdoStartsModule],
  controllers: [OrdersController],
  providers: [OrdersService, OrdersRepository],
})
export class OrdersModule {}
