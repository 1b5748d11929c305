import { IsInt, IsNumber, Max, Min } from 'class-validator';
import { AppConfig } from '@ordo/platform';

/**
 * Settings every participant reads, on top of AppConfig. A participant app's settings
 * class extends this one. The FAULT_* settings inject failures for tests and demos (see
 * failure-injection.ts) and are off by default.
 */
export class ParticipantConfig extends AppConfig {
  /**
   * Partitions of the command topic this instance handles at once (kafkajs'
   * partitionsConsumedConcurrently). Commands of one partition, and so of one transaction,
   * still run one after the other. Each command in hand holds a database connection.
   */
  @IsInt()
  @Min(1)
  @Max(256)
  COMMAND_CONCURRENCY: number = 8;

  /** Fraction (0..1) of deliveries answered `retry` before the barrier and the business code run. */
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  FAULT_TRANSIENT_RATE: number = 0;

  /** Latency added before every command is handled, in ms. */
  @IsInt()
  @Min(0)
  @Max(60_000)
  FAULT_LATENCY_MS: number = 0;
}
