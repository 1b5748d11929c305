import {
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsUrl,
  Matches,
  Max,
  Min,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { AppConfig, NeedsFaultInjection } from '@ordo/platform';
import { REPLY_LIMITS } from '@ordo/protocol';
import { parseApiKeys } from './api-keys';
import { DURATION_OR_OFF } from './retention-max-age';

/** The longest WAIT_MAX_MS may be: past this, a load balancer or client would have given up on the request long before. */
export const WAIT_MS_CEILING = 600_000;

/** A number setting that must not exceed another one, named in the constraint. */
@ValidatorConstraint({ name: 'notAbove' })
class NotAbove implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const limit = (args.object as Record<string, unknown>)[String(args.constraints[0])];
    return typeof value === 'number' && typeof limit === 'number' && value <= limit;
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must not be greater than ${String(args.constraints[0])}`;
  }
}

/** ORDO_API_KEYS must parse; the message names each bad entry, never a secret. */
@ValidatorConstraint({ name: 'apiKeys' })
class ApiKeys implements ValidatorConstraintInterface {
  private problem = '';

  validate(value: unknown): boolean {
    try {
      parseApiKeys(typeof value === 'string' ? value : '');
      return true;
    } catch (error) {
      this.problem = (error as Error).message;
      return false;
    }
  }

  defaultMessage(): string {
    return `ORDO_API_KEYS: ${this.problem}`;
  }
}

export class CoordinatorConfig extends AppConfig {
  // ---- access ----

  /**
   * The API keys, as `name:role:secret[;expires=<date|instant>]` entries separated by
   * commas (roles: viewer, starter, operator, admin; scopes: metrics, participant). Required: nothing
   * but health answers without one.
   */
  @Validate(ApiKeys)
  ORDO_API_KEYS!: string;

  /**
   * Replies must echo their command's token (protocol version 2): `required`. `optional`
   * also takes replies that carry none (version 1 participants, while they are upgraded);
   * a reply with a wrong token is refused either way.
   */
  @IsIn(['required', 'optional'])
  REPLY_TOKENS: 'required' | 'optional' = 'required';

  /**
   * Failed authentications per minute before a client is refused with 429: with one key
   * (per client address), or with different keys (per address, except the keys that
   * succeeded from it).
   */
  @IsInt()
  @Min(1)
  @Max(10_000)
  AUTH_FAILURES_PER_MINUTE: number = 20;

  override PORT = 3000;
  override DATABASE_SCHEMA = 'ordo';

  /**
   * Reply partitions an instance handles at once, and writes of replies at once: the batches
   * of one fetch are applied in one statement (one transaction's replies share a partition,
   * so they stay in order).
   */
  @IsInt()
  @Min(1)
  @Max(1000)
  REPLY_CONCURRENCY: number = 4;

  /** Most left-behind outbox rows the sweeper publishes in one Kafka request. */
  @IsInt()
  @Min(1)
  @Max(10000)
  OUTBOX_BATCH_SIZE: number = 500;

  /** How often each instance sweeps the outbox for commands left behind. */
  @IsInt()
  @Min(10)
  @Max(60000)
  OUTBOX_POLL_MS: number = 1000;

  /**
   * How old an outbox row must be before the sweeper takes it: the instance that committed
   * it publishes it at once, so a row older than this was left behind (a crash between
   * commit and publish, or a failed publish).
   */
  @IsInt()
  @Min(100)
  @Max(600000)
  OUTBOX_GRACE_MS: number = 2000;

  /**
   * Sweeps that may fail to publish an outbox row before it goes to the outbox dead-letter
   * topic (`ordo.outbox.dlq`): a command for a topic that does not exist or cannot be
   * written. Its step then times out and is retried or rolled back by the protocol's rules.
   */
  @IsInt()
  @Min(1)
  @Max(100000)
  OUTBOX_MAX_ATTEMPTS: number = 30;

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

  /**
   * Memory for the live transactions an instance last wrote or read, so that most
   * decisions need no read before their write (a stale entry costs a refused write and a
   * read; see RecentTransactions).
   */
  @IsInt()
  @Min(0)
  @Max(4096)
  RECENT_TRANSACTIONS_MB: number = 32;

  // ---- protection of participants ----

  /** Most commands awaiting a reply per participant, across all instances; more are held back. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MAX_IN_FLIGHT_PER_PARTICIPANT: number = 1000;

  /** How long an instance trusts its count of a participant's commands in flight before counting again. */
  @IsInt()
  @Min(0)
  @Max(60000)
  IN_FLIGHT_REFRESH_MS: number = 200;

  /**
   * How long a command held back waits before it is tried again (±50 % jitter) when the
   * participant is full, or while a half-open circuit's probes are out.
   */
  @IsInt()
  @Min(10)
  @Max(60000)
  HOLD_RETRY_MS: number = 500;

  /**
   * How long an instance trusts its list of paused participants before reading it again:
   * another instance's pause holds commands here after at most this long (a pause answers
   * only then), and a resume is swept up by every instance this often.
   */
  @IsInt()
  @Min(100)
  @Max(60000)
  PAUSE_REFRESH_MS: number = 1000;

  /** Outcomes each circuit breaker keeps: the latest calls to its participant. */
  @IsInt()
  @Min(1)
  @Max(10000)
  BREAKER_WINDOW: number = 100;

  /** Outcomes needed in the window before a breaker may open. */
  @IsInt()
  @Min(1)
  @Validate(NotAbove, ['BREAKER_WINDOW'])
  BREAKER_MIN_CALLS: number = 20;

  /** Share of unhealthy outcomes (timeouts, `retry`, failed compensations …) in the window that opens the circuit. */
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(1)
  BREAKER_FAILURE_RATIO: number = 0.5;

  /** How long an open circuit holds every command back before it lets probes through. */
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  BREAKER_OPEN_MS: number = 10000;

  /** Probe commands a half-open circuit lets through; as many healthy outcomes close it. */
  @IsInt()
  @Min(1)
  @Max(1000)
  BREAKER_HALF_OPEN_PROBES: number = 3;

  /** Reply times kept per participant for adaptive step timeouts: the latest replies (and timeouts) this instance applied. */
  @IsInt()
  @Min(1)
  @Max(10000)
  REPLY_TIME_WINDOW: number = 200;

  /** Reply times needed before an adaptive timeout follows them; until then it is its maximum. */
  @IsInt()
  @Min(1)
  @Validate(NotAbove, ['REPLY_TIME_WINDOW'])
  REPLY_TIME_MIN_SAMPLES: number = 20;

  // ---- alerts ----

  /**
   * Base URL of the dashboard as people reach it (e.g. `https://ordo.example.com`): alert
   * links are absolute with it, paths without.
   */
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  ORDO_PUBLIC_URL?: string;

  /** A running or compensating transaction with no progress for this many seconds is stuck: one alert each. */
  @IsInt()
  @Min(1)
  @Max(30 * 86_400)
  ALERT_STUCK_AFTER_S: number = 600;

  /** How often one instance (a lease) looks for stuck transactions. */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  ALERT_STUCK_SCAN_MS: number = 30_000;

  /** How often each instance looks for alerts to deliver. */
  @IsInt()
  @Min(50)
  @Max(60_000)
  ALERT_POLL_MS: number = 1000;

  /** Attempts to deliver one alert to one webhook before it is given up (counted in ordo_alerts_failed_total). */
  @IsInt()
  @Min(1)
  @Max(100)
  ALERT_MAX_ATTEMPTS: number = 12;

  /** Wait after a delivery's first failed attempt; it doubles after each (±50 % jitter), up to ALERT_RETRY_MAX_MS. */
  @IsInt()
  @Min(10)
  @Validate(NotAbove, ['ALERT_RETRY_MAX_MS'])
  ALERT_RETRY_INITIAL_MS: number = 1000;

  /** Longest wait between two attempts of a delivery. */
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  ALERT_RETRY_MAX_MS: number = 600_000;

  /** How long a webhook may take to answer an attempt before it counts as failed. */
  @IsInt()
  @Min(100)
  @Max(60_000)
  ALERT_TIMEOUT_MS: number = 5000;

  /** Default rate limit of a new webhook: alerts per minute, all instances together; the rest are folded into one summary the next minute. */
  @IsInt()
  @Min(1)
  @Max(10_000)
  ALERTS_PER_MINUTE: number = 30;

  // ---- limits ----

  /** Largest transaction input, in bytes of its JSON; it travels in every command of the transaction. */
  @IsInt()
  @Min(2)
  @Validate(NotAbove, ['MAX_MESSAGE_BYTES'])
  MAX_INPUT_BYTES: number = 256 * 1024;

  /**
   * Largest reply output, in bytes of its JSON; a larger reply is dead-lettered. The output
   * lives in the transaction row, rewritten by every later decision, and may be mapped
   * into later commands.
   */
  @IsInt()
  @Min(1024)
  @Validate(NotAbove, ['MAX_MESSAGE_BYTES'])
  MAX_REPLY_OUTPUT_BYTES: number = REPLY_LIMITS.outputBytes;

  /** Live-update streams (GET /transactions/stream) one API key may hold open on each instance. */
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_STREAMS_PER_KEY: number = 10;

  /** Longest `waitMs` a caller may ask for when starting or reading a transaction; a longer one is 400. */
  @IsInt()
  @Min(0)
  @Max(WAIT_MS_CEILING)
  WAIT_MAX_MS: number = 30_000;

  /**
   * Callers waiting for a transaction's end (`waitMs`) at once on each instance; one more is
   * 503 TOO_MANY_WAITERS. Each holds an HTTP connection open, nothing in the database.
   */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MAX_WAITERS: number = 5000;

  /**
   * How often an instance with waiters reads the history for transactions that other
   * instances ended: one statement per poll, however many wait (without waiters, the live
   * update streams' once a second).
   */
  @IsInt()
  @Min(10)
  @Max(1000)
  WAIT_POLL_MS: number = 200;

  /** API requests one credential (or, without one, one client address) may make per minute on each instance. */
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  RATE_LIMIT_PER_MINUTE: number = 60_000;

  // ---- retention ----

  /**
   * Age after which a finished (completed / compensated) transaction is purged with its
   * steps and history (what operators did to it stays, in audit_log): `<n>ms|s|m|h|d`, or
   * `0` / `off` to keep everything.
   */
  @Matches(DURATION_OR_OFF, { message: 'must be a duration such as 7d, 12h, 30m, 90s, 500ms, or 0 / off' })
  RETENTION_MAX_AGE: string = '30d';

  /** Most transactions one purge batch (one short database transaction) deletes. */
  @IsInt()
  @Min(1)
  @Max(100_000)
  RETENTION_BATCH_SIZE: number = 1000;

  /** Pause between two purge batches, so the purge never crowds out live work. */
  @IsInt()
  @Min(0)
  @Max(60_000)
  RETENTION_PAUSE_MS: number = 100;

  /** How often each instance looks for transactions to purge. */
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  RETENTION_INTERVAL_MS: number = 60_000;

  // ---- timing statistics ----

  /** How often each instance adds the transactions that ended to the timing rollup (one instance at a time does). */
  @IsInt()
  @Min(100)
  @Max(600_000)
  ROLLUP_INTERVAL_MS: number = 2000;

  /** Most ends one rollup batch (one database transaction) takes. */
  @IsInt()
  @Min(1)
  @Max(100_000)
  ROLLUP_BATCH_SIZE: number = 1000;

  // ---- failure injection (tests) ----

  /**
   * `after-commit-decision`: the process exits at once with code 137, like a SIGKILL, right
   * after it committed a TCC confirm / 2PC COMMIT decision and before the relay published
   * its commands, so a test can check that a restart delivers them. Needs FAULT_INJECTION=on.
   */
  @IsOptional()
  @IsIn(['after-commit-decision'])
  @Validate(NeedsFaultInjection)
  FAULT_CRASH?: 'after-commit-decision';
}
