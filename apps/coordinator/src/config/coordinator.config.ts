import { IsInt, Max, Min } from 'class-validator';
import { AppConfig } from '@ordo/platform';

export class CoordinatorConfig extends AppConfig {
  override PORT = 3000;
  override DATABASE_SCHEMA = 'ordo';

  /** Most outbox rows the relay publishes in one Kafka request. */
  @IsInt()
  @Min(1)
  @Max(10000)
  OUTBOX_BATCH_SIZE: number = 500;

  /** Fallback poll of the outbox when no NOTIFY arrives (lost connection, another instance). */
  @IsInt()
  @Min(10)
  @Max(60000)
  OUTBOX_POLL_MS: number = 1000;

  /** How often each instance looks for due timers (timeouts, retries, deadlines). */
  @IsInt()
  @Min(10)
  @Max(60000)
  TIMER_POLL_MS: number = 100;

  /** Most due transactions one timer pass claims in one database transaction. */
  @IsInt()
  @Min(1)
  @Max(10000)
  TIMER_BATCH_SIZE: number = 200;
}
