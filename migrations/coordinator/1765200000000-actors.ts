import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * Who started each transaction and who registered each definition version: the name of the
 * API key (null on rows from before). Idempotency keys become the caller's own: unique per
 * (started_by, idempotency_key), so one caller is never handed another's transaction.
 *
 * Nullable columns without a default: no table rewrite. The new index is built
 * CONCURRENTLY before the global one is dropped (CONCURRENTLY too), so writes go on during
 * the upgrade. Keys of rows from before belong to no caller (NULL never conflicts): a start
 * retried across the upgrade with such a key starts a new transaction. Instances of the
 * previous version name the dropped index in their inserts: replace them before starting
 * transactions through them again (see docs/operations.md, Upgrading).
 */
export class Actors1765200000000 implements MigrationInterface {
  name = 'Actors1765200000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transactions ADD COLUMN IF NOT EXISTS started_by text');
    await q.query('ALTER TABLE definitions ADD COLUMN IF NOT EXISTS registered_by text');
    await createIndexConcurrently(
      q,
      'transactions_caller_idempotency_key',
      'ON transactions (started_by, idempotency_key) WHERE idempotency_key IS NOT NULL',
      true,
    );
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS transactions_idempotency_key');
  }

  async down(q: QueryRunner): Promise<void> {
    // Fails, as it must, when two callers now hold the same key.
    await createIndexConcurrently(q, 'transactions_idempotency_key', 'ON transactions (idempotency_key) WHERE idempotency_key IS NOT NULL', true);
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS transactions_caller_idempotency_key');
    await q.query('ALTER TABLE definitions DROP COLUMN IF EXISTS registered_by');
    await q.query('ALTER TABLE transactions DROP COLUMN IF EXISTS started_by');
  }
}
