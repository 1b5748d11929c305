import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How often the sweeper failed to publish an outbox row, and why the last time: the sweeper
 * takes the rows that failed least first (so rows for an unwritable topic cannot hold back
 * the others) and dead-letters a row after OUTBOX_MAX_ATTEMPTS. Defaults only: no rewrite.
 */
export class OutboxAttempts1765100000000 implements MigrationInterface {
  name = 'OutboxAttempts1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0, ADD COLUMN last_error text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox DROP COLUMN attempts, DROP COLUMN last_error');
  }
}
