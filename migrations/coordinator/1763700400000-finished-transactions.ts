import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Finished transactions by when they finished (their last update), for retention. Partial,
 * so it holds only what retention may purge and the purge never reads live rows; `failed`
 * ones are left out, as they wait for an operator.
 *
 * Built CONCURRENTLY (outside a transaction) so that upgrading a large database does not
 * block writes to `transactions` while the index is built; an invalid leftover of an
 * interrupted build is dropped and built again.
 */
export class FinishedTransactions1763700400000 implements MigrationInterface {
  name = 'FinishedTransactions1763700400000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    const [leftover] = (await q.query(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname = 'transactions_finished' AND c.relnamespace = current_schema()::regnamespace`,
    )) as { valid: boolean }[];
    if (leftover && !leftover.valid) await q.query('DROP INDEX CONCURRENTLY transactions_finished');
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS transactions_finished ON transactions (updated_at)
       WHERE status IN ('completed', 'compensated')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS transactions_finished');
  }
}
