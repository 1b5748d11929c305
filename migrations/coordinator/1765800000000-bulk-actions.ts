import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bulk actions: an operator action applied to every transaction matching a filter, run in
 * batches by whichever instance holds the row's lease. `after_created_at` / `after_id` is
 * where the run stands (the transactions are taken oldest first), so a run another instance
 * takes over goes on from there; `matched`, `processed` and `applied` are its progress.
 */
export class BulkActions1765800000000 implements MigrationInterface {
  name = 'BulkActions1765800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bulk_actions (
        id               uuid        PRIMARY KEY,
        action           text        NOT NULL,
        params           jsonb       NOT NULL,
        filter           jsonb       NOT NULL,
        max_count        integer     NOT NULL,
        actor            text        NOT NULL,
        status           text        NOT NULL,
        matched          integer     NOT NULL,
        processed        integer     NOT NULL DEFAULT 0,
        applied          integer     NOT NULL DEFAULT 0,
        after_created_at timestamptz,
        after_id         uuid,
        lease_until      timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        finished_at      timestamptz
      )`);
    await q.query(`CREATE INDEX bulk_actions_running ON bulk_actions (created_at) WHERE status = 'running'`);
    await q.query('CREATE INDEX bulk_actions_created ON bulk_actions (created_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE bulk_actions');
  }
}
