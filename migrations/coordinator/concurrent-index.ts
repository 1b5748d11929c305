import { QueryRunner } from 'typeorm';

/**
 * Builds index `name` (`ON table (…) [WHERE …]`) CONCURRENTLY, in a migration with
 * `transaction = false`, so that upgrading a large database does not block writes to its
 * table; an invalid leftover of an interrupted build is dropped and built again.
 */
export async function createIndexConcurrently(q: QueryRunner, name: string, on: string, unique = false): Promise<void> {
  const [leftover]: { valid: boolean }[] = await q.query(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`,
    [name],
  );
  if (leftover && !leftover.valid) await q.query(`DROP INDEX CONCURRENTLY ${name}`);
  await q.query(`CREATE ${unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${name} ${on}`);
}
