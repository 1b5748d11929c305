// Decorator metadata (the settings' types) is recorded only once reflect-metadata is loaded.
import 'reflect-metadata';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { BooleanSetting } from './boolean-setting';

/**
 * How a process reaches PostgreSQL: every app's settings, and all that `npm run migrate`
 * needs. The timeouts keep a hiccup (a failover without a TCP reset, a stuck lock, a
 * session left in a transaction) from hanging the process; a hung statement or connection
 * fails instead, and the work is retried as after any error.
 */
export class DatabaseConfig {
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// connection URL' })
  DATABASE_URL: string;

  /** PostgreSQL schema holding this process's tables; created by the migrations when missing. */
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a lower-case SQL identifier' })
  DATABASE_SCHEMA: string;

  @IsInt()
  @Min(1)
  @Max(1000)
  DATABASE_POOL_SIZE: number = 20;

  /**
   * How long getting a connection may take: a free one from the pool, or a new one opened
   * (node-postgres bounds both with this one timeout, connectionTimeoutMillis).
   */
  @IsInt()
  @Min(100)
  @Max(600_000)
  DATABASE_CONNECT_TIMEOUT_MS: number = 10_000;

  /**
   * Idle time of a connection before TCP keepalive probes begin; a peer that stopped
   * answering (a failover without a reset) is then found within about 10 s more, instead
   * of the operating system's two hours.
   */
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  DATABASE_KEEPALIVE_IDLE_MS: number = 10_000;

  /** PostgreSQL's statement_timeout for the app's sessions (0: none). Migrations run without. */
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  DATABASE_STATEMENT_TIMEOUT_MS: number = 60_000;

  /**
   * PostgreSQL's idle_in_transaction_session_timeout for the app's sessions (0: none): a
   * session idle inside a transaction this long is ended, its locks released.
   */
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: number = 60_000;

  /**
   * Whether the app applies its pending migrations at start (`true`, the local default).
   * `false`: `npm run migrate` applies them beforehand, under a role allowed DDL, and the
   * app refuses to start while any is missing.
   */
  @BooleanSetting()
  MIGRATE_ON_START: boolean = true;
}
