import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The participant's barrier table, in the participant's own schema: one row per
 * (transaction, step, phase) that was answered for good, with the answer given.
 * Participant apps list this migration before their own.
 */
export class OrdoBarrier1763700000000 implements MigrationInterface {
  name = 'OrdoBarrier1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ordo_barrier (
        tx_id       text        NOT NULL,
        step_id     text        NOT NULL,
        phase       text        NOT NULL,
        origin      text        NOT NULL,
        reply       jsonb       NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tx_id, step_id, phase)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE ordo_barrier');
  }
}
