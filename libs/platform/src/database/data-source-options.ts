import { DataSourceOptions, EntitySchema, MixedList } from 'typeorm';
import { DatabaseConfig } from '../config/database-config';

export interface DatabaseOptions {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
}

/** Session timeouts, in ms; 0 turns one off (whatever the server or role sets). */
export interface SessionTimeouts {
  statementMs: number;
  idleInTransactionMs: number;
}

/**
 * TypeORM (node-postgres) options for an app's schema, with the resilience settings of
 * DatabaseConfig. `timeouts` defaults to the configured ones; migrations pass none.
 */
export function dataSourceOptions(
  config: DatabaseConfig,
  options: DatabaseOptions & { applicationName?: string },
  timeouts: SessionTimeouts = {
    statementMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    idleInTransactionMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  },
): DataSourceOptions {
  // Every session resolves unqualified names in the app's schema (raw SQL and migrations
  // need no schema prefix) and has its timeouts set from the start, 0 included.
  const session = [
    `search_path=${config.DATABASE_SCHEMA}`,
    `statement_timeout=${timeouts.statementMs}`,
    `idle_in_transaction_session_timeout=${timeouts.idleInTransactionMs}`,
  ];
  return {
    type: 'postgres',
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    entities: options.entities ?? [],
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    // Shown in pg_stat_activity: which app holds a connection.
    applicationName: options.applicationName,
    extra: {
      max: config.DATABASE_POOL_SIZE,
      options: session.map((setting) => `-c ${setting}`).join(' '),
      connectionTimeoutMillis: config.DATABASE_CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: config.DATABASE_KEEPALIVE_IDLE_MS,
    },
  };
}
