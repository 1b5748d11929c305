import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox: commands are inserted in the same transaction as the state
 * change that causes them, and the relay publishes them. Published rows are deleted, so
 * the table only ever holds the backlog.
 */
export class Outbox1763700000000 implements MigrationInterface {
  name = 'Outbox1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox (
        id          bigserial PRIMARY KEY,
        topic       text        NOT NULL,
        key         text        NOT NULL,
        payload     text        NOT NULL,
        headers     jsonb       NOT NULL DEFAULT '{}',
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outbox');
  }
}
