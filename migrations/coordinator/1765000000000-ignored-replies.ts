import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many replies a transaction ignored (duplicates, stale attempts, unknown steps): its
 * history keeps the first few, this counts them all. A constant default: no table rewrite.
 */
export class IgnoredReplies1765000000000 implements MigrationInterface {
  name = 'IgnoredReplies1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transactions ADD COLUMN ignored_replies integer NOT NULL DEFAULT 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transactions DROP COLUMN ignored_replies');
  }
}
