import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MESSAGE_BUS, MessageBus } from '../messaging/message-bus';

/** Kafka is up when a broker answers a metadata request within the timeout. */
@Injectable()
export class KafkaHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
  ) {}

  async check(key: string, timeoutMs: number) {
    const indicator = this.indicators.check(key);
    try {
      await this.bus.ping(timeoutMs);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
