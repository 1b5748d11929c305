import { Module } from '@nestjs/common';
import { ParticipantModule } from '@ordo/participant';
import { PlatformModule } from '@ordo/platform';
import { PaymentConfig } from './payment.config';

@Module({
  imports: [
    PlatformModule.forApp({ name: 'payment', config: PaymentConfig, database: { migrations: [] } }),
    ParticipantModule.forRoot({ name: 'payment' }),
  ],
})
export class PaymentModule {}
