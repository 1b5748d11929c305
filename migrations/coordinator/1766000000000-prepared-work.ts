import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Prepared work: the PostgreSQL prepared transactions (2PC) that participants hold, as they
 * last reported them (the SDK reports every PREPARED_REPORT_MS). A report replaces its
 * participant's rows, so a row is gone once its prepared transaction is. `finish_*` is an
 * operator's request to finish one now, handed to the participant with the answer to its
 * next report. Small (prepared transactions live for seconds), hence no index but the key.
 */
export class PreparedWork1766000000000 implements MigrationInterface {
  name = 'PreparedWork1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE prepared_work (
        gid                 text        PRIMARY KEY,
        participant         text        NOT NULL,
        tx_id               uuid        NOT NULL,
        step_id             text        NOT NULL,
        xid                 text        NOT NULL,
        prepared_at         timestamptz NOT NULL,
        relations           text[]      NOT NULL,
        waiters             integer     NOT NULL,
        reported_by         text        NOT NULL,
        reported_at         timestamptz NOT NULL,
        finish_requested_by text,
        finish_requested_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE prepared_work');
  }
}
