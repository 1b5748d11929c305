import { Module } from '@nestjs/common';
import { ParticipantModule } from '@ordo/participant';
import { PlatformModule } from '@ordo/platform';
import { paymentMigrations } from '../../../migrations/payment';
import { PaymentConfig } from './payment.config';
import { PaymentsModule } from './payments/payments.module';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'payment', config: PaymentConfig, database: { migrations: paymentMigrations } }),
    ParticipantModule.forRoot({ name: 'payment' }),
    PaymentsModule,
  ],
})
export class PaymentModule {}
