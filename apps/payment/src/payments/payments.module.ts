import { Module } from '@nestjs/common';
import { PaymentsRepository } from './infrastructure/persistence/payments.repository';
import { TransfersRepository } from './infrastructure/persistence/transfers.repository';
import { PaymentsController } from './payments.controller';
import { PaymentsService } from './payments.service';
import { TransfersController } from './transfers.controller';
import { TransfersService } from './transfers.service';

@Module({
  controllers: [PaymentsController, TransfersController],
  providers: [PaymentsService, PaymentsRepository, TransfersService, TransfersRepository],
})
export class PaymentsModule {}
