import { setTimeout as sleep } from 'timers/promises';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../config/database-config';
import { dataSourceOptions, DatabaseOptions } from './data-source-options';

const MIGRATION_LOCK_POLL_MS = 200;

/**
 * Creates the schema when missing and applies pending migrations, on connections of their
 * own without statement or idle timeouts (an index build may take long), under a role
 * allowed DDL. Returns the names applied.
 *
 * A session-level advisory lock keeps several instances starting at once from racing each
 * other. It is polled, not waited for: a statement blocked on the lock keeps a snapshot
 * open, and the holder's CREATE INDEX CONCURRENTLY waits for every open snapshot — the two
 * would wait forever.
 */
export async function migrate(config: DatabaseConfig, options: DatabaseOptions): Promise<string[]> {
  const schema = config.DATABASE_SCHEMA;
  const base = dataSourceOptions(config, options, { statementMs: 0, idleInTransactionMs: 0 });
  // One connection holds the lock, one runs the migrations.
  const dataSource = await new DataSource({ ...base, extra: { ...(base.extra as object), max: 2 } }).initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    const key = `ordo-migrations:${schema}`;
    const locked = async () =>
      ((await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key])) as { locked: boolean }[])[0].locked;
    while (!(await locked())) await sleep(MIGRATION_LOCK_POLL_MS);
    try {
      // Only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even
      // when the schema exists, which a schema's owner role may lack.
      const [{ missing }] = (await runner.query('SELECT to_regnamespace($1) IS NULL AS missing', [schema])) as { missing: boolean }[];
      if (missing) await runner.query(`CREATE SCHEMA "${schema}"`);
      return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
    }
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}

/**
 * The app's migrations not applied to its schema, read without DDL (TypeORM's own check
 * would create the migrations table), so a runtime role without DDL rights can ask.
 */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const [{ exists }] = await dataSource.query<{ exists: boolean }[]>(`SELECT to_regclass('migrations') IS NOT NULL AS exists`);
  const rows = exists ? await dataSource.query<{ name: string }[]>('SELECT name FROM migrations') : [];
  const applied = new Set(rows.map((row) => row.name));
  return dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name).filter((name) => !applied.has(name));
}
