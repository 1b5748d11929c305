import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { KafkaHealthIndicator } from './kafka.health';
import { ShutdownState } from './shutdown-state';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty', logger: false })],
  controllers: [HealthController],
  providers: [KafkaHealthIndicator, ShutdownState],
})
export class HealthModule {}
