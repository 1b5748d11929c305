import { randomUUID } from 'crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseConfig, dataSourceOptions, validateConfig } from '@ordo/platform';
import { CoordinatorApi } from '../support/coordinator-api';
import { startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * The database resilience settings on real PostgreSQL: the sessions of an app's pool carry
 * the configured timeouts, and PostgreSQL and node-postgres enforce them; a real
 * coordinator's statement stuck on a lock is cancelled instead of hanging its caller.
 */
describe('database settings', () => {
  const env = testEnv();

  describe("an app's pool", () => {
    const config = validateConfig(DatabaseConfig, {
      DATABASE_URL: env.databaseUrl,
      DATABASE_SCHEMA: 'public',
      DATABASE_POOL_SIZE: '1',
      DATABASE_CONNECT_TIMEOUT_MS: '500',
      DATABASE_STATEMENT_TIMEOUT_MS: '700',
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '900',
    });
    let dataSource: DataSource;

    beforeAll(async () => {
      dataSource = await new DataSource(dataSourceOptions(config, { migrations: [], applicationName: 'e2e-db-settings' })).initialize();
    });

    afterAll(() => dataSource?.destroy());

    it('sets statement_timeout and idle_in_transaction_session_timeout on every session', async () => {
      expect(await dataSource.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '700ms' }]);
      expect(await dataSource.query('SHOW idle_in_transaction_session_timeout')).toEqual([{ idle_in_transaction_session_timeout: '900ms' }]);
      await expect(dataSource.query('SELECT pg_sleep(2)')).rejects.toThrow('canceling statement due to statement timeout');
    });

    it('ends a session left idle in a transaction', async () => {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await expect(runner.query('SELECT 1')).rejects.toThrow();
      await runner.release().catch(() => undefined);
      // The pool replaces the ended connection.
      expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    });

    it('bounds the wait for a pooled connection', async () => {
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        const started = Date.now();
        await expect(dataSource.query('SELECT 1')).rejects.toThrow('timeout exceeded when trying to connect');
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        await runner.release();
      }
    });

    it('runs migrations without the timeouts', async () => {
      const migrations = await new DataSource(dataSourceOptions(config, { migrations: [] }, { statementMs: 0, idleInTransactionMs: 0 })).initialize();
      try {
        expect(await migrations.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '0' }]);
        // Longer than the app's 700 ms: it would be cancelled there.
        await expect(migrations.query("SELECT pg_sleep(1), 'slept' AS done")).resolves.toEqual([{ pg_sleep: '', done: 'slept' }]);
      } finally {
        await migrations.destroy();
      }
    });
  });

  it("cancels a real coordinator's statement stuck on a lock after DATABASE_STATEMENT_TIMEOUT_MS", async () => {
    const schema = 'ordo_db_settings';
    const coordinator = await startApp('coordinator', {
      KAFKA_TOPIC_PREFIX: `${env.topicPrefix}db-settings.`,
      DATABASE_SCHEMA: schema,
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
    });
    const api = new CoordinatorApi(coordinator.url);
    // Its participant never answers: the transaction stays running, for the abort below.
    const step = { id: 'a', participant: `nobody-${randomUUID().slice(0, 8)}`, action: 'a', compensation: 'undo-a' };
    await api.register({ name: 'db-settings', type: 'saga', defaults: { timeoutMs: 60_000 }, steps: [step] });
    const { id } = await api.start('db-settings', {});
    const db = new Client({ connectionString: env.databaseUrl });
    await db.connect();
    try {
      const sessions = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'ordo-coordinator'`);
      expect(sessions.rows[0].n).toBeGreaterThan(0);
      // Another session holds the transaction's row: the abort's write waits for it...
      await db.query('BEGIN');
      await db.query(`SELECT 1 FROM ${schema}.transactions WHERE id = $1 FOR UPDATE`, [id]);
      const started = Date.now();
      const refused = await api.request('POST', `/transactions/${id}/abort`, {});
      // ...until PostgreSQL cancels it, instead of for as long as the lock is held.
      expect(refused).toEqual({ status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } });
      expect(Date.now() - started).toBeLessThan(5000);
      const waiting = await db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'ordo-coordinator' AND wait_event_type = 'Lock'`,
      );
      expect(waiting.rows[0].n).toBe(0);
      await db.query('ROLLBACK');
      expect((await api.request('POST', `/transactions/${id}/abort`, {})).status).toBe(200);
    } finally {
      await db.end();
    }
  });
});
