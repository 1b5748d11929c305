import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What operators did (abort, retry, resolve: the `operator.*` history events), kept when
 * retention purges their transaction: the purge moves them here in the same statement.
 * Retention never deletes from this table. Definitions are never purged, so their
 * registrations (registered_by, created_at) need no copy.
 */
export class AuditLog1765400000000 implements MigrationInterface {
  name = 'AuditLog1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id                 bigserial   PRIMARY KEY,
        tx_id              uuid        NOT NULL,
        definition_name    text        NOT NULL,
        definition_version integer     NOT NULL,
        type               text        NOT NULL,
        step_id            text,
        actor              text,
        data               jsonb       NOT NULL,
        at                 timestamptz NOT NULL,
        archived_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE INDEX audit_log_tx ON audit_log (tx_id)');
    await q.query('CREATE INDEX audit_log_at ON audit_log (at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_log');
  }
}
