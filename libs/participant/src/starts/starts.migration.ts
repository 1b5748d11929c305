import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The caller's outbox of transaction starts (OrdoStarts.startWithin), in the service's own
 * schema: one row per start, written in the service's local transaction and delivered to
 * the coordinator after it commits. Services that start transactions this way list this
 * migration after OrdoBarrier's.
 */
export class OrdoStarts1766000000000 implements MigrationInterface {
  name = 'OrdoStarts1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ordo_starts (
        id               uuid        PRIMARY KEY,
        idempotency_key  text        NOT NULL UNIQUE,
        definition       text        NOT NULL,
        version          integer,
        input            jsonb       NOT NULL,
        traceparent      text,
        status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'rejected')),
        attempts         integer     NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        tx_id            text,
        last_error       jsonb,
        created_at       timestamptz NOT NULL DEFAULT now(),
        finished_at      timestamptz
      )`);
    // The relay's claim: due pending starts, oldest first; the index stays as small as the backlog.
    await q.query(`CREATE INDEX ordo_starts_due ON ordo_starts (next_attempt_at) WHERE status = 'pending'`);
    // Pruning delivered starts.
    await q.query(`CREATE INDEX ordo_starts_delivered ON ordo_starts (finished_at) WHERE status = 'delivered'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE ordo_starts');
  }
}
