import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Business keys (`tags`): a JSON object of strings on the transaction row, found with
 * `tags @> '{"orderId":"o-1"}'` through a GIN index (`jsonb_path_ops`: one hash per
 * key/value pair, smaller and faster for `@>` than the default operator class).
 *
 * - On the row rather than in a table of its own: the start writes it in the statement it
 *   already runs, and a filtered list reads no join.
 * - An update keeps its HOT path while no indexed column changes, and tags are written by
 *   the start only: decisions stay HOT as before (measured: docs/benchmarks.md, Tag search).
 * - Partial (`tags IS NOT NULL`): transactions without tags cost the index nothing; every
 *   `tags @> …` implies the predicate, so the planner uses it for every tag filter.
 * - Built CONCURRENTLY, like transactions_finished, so that upgrading a large database does
 *   not block writes; an invalid leftover of an interrupted build is dropped and built again.
 */
export class Tags1765600000000 implements MigrationInterface {
  name = 'Tags1765600000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transactions ADD COLUMN IF NOT EXISTS tags jsonb');
    const [leftover] = (await q.query(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname = 'transactions_tags' AND c.relnamespace = current_schema()::regnamespace`,
    )) as { valid: boolean }[];
    if (leftover && !leftover.valid) await q.query('DROP INDEX CONCURRENTLY transactions_tags');
    await q.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS transactions_tags ON transactions USING gin (tags jsonb_path_ops) WHERE tags IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS transactions_tags');
    await q.query('ALTER TABLE transactions DROP COLUMN IF EXISTS tags');
  }
}
