import { DatabaseConfig } from '../config/database-config';
import { validateConfig } from '../config/validate-config';
import { dataSourceOptions } from './data-source-options';

const config = validateConfig(DatabaseConfig, {
  DATABASE_URL: 'postgres://u@db:5432/ordo',
  DATABASE_SCHEMA: 'shop',
  DATABASE_CONNECT_TIMEOUT_MS: '2500',
});

describe('dataSourceOptions', () => {
  it('gives every session its schema and the configured timeouts, and the pool its keepalive and wait bound', () => {
    expect(dataSourceOptions(config, { migrations: [], applicationName: 'ordo-shop' })).toMatchObject({
      schema: 'shop',
      applicationName: 'ordo-shop',
      extra: {
        max: 20,
        options: '-c search_path=shop -c statement_timeout=60000 -c idle_in_transaction_session_timeout=60000',
        connectionTimeoutMillis: 2500,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      },
    });
  });

  it('sends a timeout of 0 too, so that "off" overrides a server or role default', () => {
    const { extra } = dataSourceOptions(config, { migrations: [] }, { statementMs: 0, idleInTransactionMs: 0 }) as { extra: { options: string } };
    expect(extra.options).toBe('-c search_path=shop -c statement_timeout=0 -c idle_in_transaction_session_timeout=0');
  });
});
