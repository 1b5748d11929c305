import { IsInt, IsNumber, IsOptional, IsString, IsUrl, Max, Min, Validate } from 'class-validator';
import { AppConfig, NeedsFaultInjection } from '@ordo/platform';

/**
 * Settings every participant reads, on top of AppConfig. A participant app's settings
 * class extends this one. The FAULT_* settings inject failures for tests and demos (see
 * failure-injection.ts); they need FAULT_INJECTION=on.
 */
export class ParticipantConfig extends AppConfig {
  /**
   * Partitions of the command topic this instance handles at once (kafkajs'
   * partitionsConsumedConcurrently). Commands of one partition, and so of one transaction,
   * still run one after the other. Each partition in hand holds a database connection.
   */
  @IsInt()
  @Min(1)
  @Max(256)
  COMMAND_CONCURRENCY: number = 8;

  /** Fraction (0..1) of deliveries answered `retry` before the barrier and the business code run. */
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  @Validate(NeedsFaultInjection)
  FAULT_TRANSIENT_RATE: number = 0;

  /** Latency added before every command is handled, in ms. */
  @IsInt()
  @Min(0)
  @Max(60_000)
  @Validate(NeedsFaultInjection)
  FAULT_LATENCY_MS: number = 0;

  /**
   * The coordinator's base URL (e.g. http://127.0.0.1:3000). A participant holding
   * prepared transactions asks it for their decision after a restart and when they stay in
   * doubt; without it they wait for the coordinator to redeliver the decision.
   */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  ORDO_COORDINATOR_URL?: string;

  /** Bearer credential for ORDO_COORDINATOR_URL: a `participant` key, which can read decisions and nothing else. */
  @IsOptional()
  @IsString()
  ORDO_COORDINATOR_API_KEY?: string;

  /**
   * How long a prepare in a prepared transaction waits for a row lock that another prepared
   * transaction holds before answering `retry`. Short, because the holder's decision may be
   * queued behind this very command: waiting blocks the partition (200 buy-nows on 30 hot
   * products: 21.9 txs/s at 100 ms, 3.4 txs/s at 1000 ms).
   */
  @IsInt()
  @Min(1)
  @Max(60_000)
  PREPARE_LOCK_TIMEOUT_MS: number = 100;

  /** A prepared transaction older than this is in doubt: the participant asks the coordinator for its decision. */
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  IN_DOUBT_AFTER_MS: number = 10_000;
}
