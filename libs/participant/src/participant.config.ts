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
   * doubt; without it they wait for the coordinator to redeliver the decision. A service
   * that starts transactions with OrdoStarts delivers them there; without it they are kept
   * in ordo_starts until it is set.
   */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  ORDO_COORDINATOR_URL?: string;

  /**
   * Bearer credential for ORDO_COORDINATOR_URL: a `participant` key, which can read
   * decisions and nothing else, or for a service that starts transactions with OrdoStarts
   * a `starter` key, which can also start transactions and read them.
   */
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

  /**
   * How often a participant holding prepared-transaction handlers reports its prepared
   * transactions to the coordinator (ORDO_COORDINATOR_URL), for the in-doubt view and an
   * operator's "finish now", which it carries out on the answer.
   */
  @IsInt()
  @Min(100)
  @Max(600_000)
  PREPARED_REPORT_MS: number = 5_000;

  /**
   * OrdoStarts: how often ordo_starts is swept for starts still to deliver (left by a crash
   * or an outage of the coordinator, or retries come due) and delivered starts are pruned.
   * A start is otherwise delivered right after its local transaction commits.
   */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  STARTS_SWEEP_INTERVAL_MS: number = 5_000;

  /** OrdoStarts: how long a delivered start stays in ordo_starts, with its transaction id, before it is pruned. */
  @IsInt()
  @Min(0)
  @Max(365 * 86_400_000)
  STARTS_RETENTION_MS: number = 7 * 86_400_000;

  /**
   * OrdoStarts: a start is delivered no sooner than this long after it was written, so that
   * a test can kill the service between its local commit and the delivery.
   */
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  @Validate(NeedsFaultInjection)
  FAULT_STARTS_HOLD_MS: number = 0;
}
