import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource, EntityManager } from 'typeorm';

/**
 * A statement that node-pg prepares once per connection (by its name) instead of having
 * PostgreSQL parse and plan it on every call. Its text must never vary: parameters carry
 * everything that changes, arrays included.
 */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

/** The pg pool under a TypeORM data source: the hot path skips the ORM's query layer. */
function poolOf(dataSource: DataSource): Pool {
  return (dataSource.driver as unknown as { master: Pool }).master;
}

/**
 * Runs a prepared statement on its own, outside any explicit transaction: one statement is
 * one transaction, committed when it returns (no BEGIN or COMMIT round trips).
 */
export async function runPrepared<R extends QueryResultRow>(dataSource: DataSource, statement: PreparedStatement, values: unknown[]): Promise<R[]> {
  const result = await poolOf(dataSource).query<R>({ name: statement.name, text: statement.text, values });
  return result.rows;
}

/**
 * Runs a prepared statement on the connection of `manager`: inside its transaction when it
 * has one (a participant's local transaction), else on its own like `runPrepared`. Measured
 * with pgbench on a participant's transaction (barrier claim, business statement, replies):
 * parsing and planning every call halved the rate prepared statements reach.
 */
export async function runPreparedIn<R extends QueryResultRow>(manager: EntityManager, statement: PreparedStatement, values: unknown[]): Promise<R[]> {
  if (!manager.queryRunner) return runPrepared<R>(manager.connection, statement, values);
  const client = (await manager.queryRunner.connect()) as PoolClient;
  const result = await client.query<R>({ name: statement.name, text: statement.text, values });
  return result.rows;
}
