import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * Finished transactions by when they finished (their last update), for retention. Partial,
 * so it holds only what retention may purge and the purge never reads live rows; `failed`
 * ones are left out, as they wait for an operator.
 *
 * Built CONCURRENTLY (outside a transaction), see createIndexConcurrently.
 */
export class FinishedTransactions1763700400000 implements MigrationInterface {
  name = 'FinishedTransactions1763700400000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await createIndexConcurrently(q, 'transactions_finished', `ON transactions (updated_at) WHERE status IN ('completed', 'compensated')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS transactions_finished');
  }
}
