import { Module } from '@nestjs/common';
import { PaymentsRepository } from './infrastructure/persistence/payments.repository';
import { PaymentsController } from './payments.controller';
import { PaymentsService } from './payments.service';

@Module({
  controllers: [PaymentsController],
  providers: [PaymentsService, PaymentsRepository],
})
export class PaymentsModule {}
