import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who started each transaction and who registered each definition version: the name of the
 * API key; null on rows from before. Nullable columns without a default: no table rewrite.
 *
 * Idempotency keys become their caller's without touching the unique index: new rows store
 * `<caller>:<key>` (a key's name holds no ':'), see TransactionRepository. Swapping the
 * index for one on (started_by, idempotency_key) would rebuild it on the largest table and
 * break the inserts of instances of the previous version, which name the index's columns
 * (ON CONFLICT), during a rolling upgrade.
 */
export class Actors1765200000000 implements MigrationInterface {
  name = 'Actors1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transactions ADD COLUMN started_by text');
    await q.query('ALTER TABLE definitions ADD COLUMN registered_by text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE definitions DROP COLUMN registered_by');
    await q.query('ALTER TABLE transactions DROP COLUMN started_by');
  }
}
