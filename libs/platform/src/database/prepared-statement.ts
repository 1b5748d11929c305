import type { Pool, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';

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
