import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Definitions (versioned, immutable), transactions, their steps and their append-only
 * history. Only active transactions carry a due time, so the timer index stays as small as
 * the live work however many finished transactions accumulate.
 */
export class Transactions1763700100000 implements MigrationInterface {
  name = 'Transactions1763700100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE definitions (
        name        text        NOT NULL,
        version     integer     NOT NULL CHECK (version > 0),
        type        text        NOT NULL,
        body        jsonb       NOT NULL,
        body_hash   text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, version)
      )`);

    await q.query(`
      CREATE TABLE transactions (
        id                  uuid        PRIMARY KEY,
        definition_name     text        NOT NULL,
        definition_version  integer     NOT NULL,
        type                text        NOT NULL,
        status              text        NOT NULL,
        input               jsonb       NOT NULL,
        started_at          timestamptz,
        deadline            timestamptz,
        rollback            jsonb,
        next_due_at         timestamptz,
        idempotency_key     text,
        traceparent         text,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (definition_name, definition_version) REFERENCES definitions (name, version)
      )`);
    await q.query('CREATE UNIQUE INDEX transactions_idempotency_key ON transactions (idempotency_key) WHERE idempotency_key IS NOT NULL');
    await q.query('CREATE INDEX transactions_due ON transactions (next_due_at) WHERE next_due_at IS NOT NULL');
    // Keyset pagination, newest first, overall and by the common filters.
    await q.query('CREATE INDEX transactions_created ON transactions (created_at DESC, id DESC)');
    await q.query('CREATE INDEX transactions_status_created ON transactions (status, created_at DESC, id DESC)');
    await q.query('CREATE INDEX transactions_definition_created ON transactions (definition_name, created_at DESC, id DESC)');

    await q.query(`
      CREATE TABLE steps (
        tx_id         uuid        NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        step_id       text        NOT NULL,
        participant   text        NOT NULL,
        status        text        NOT NULL,
        phase         text        NOT NULL,
        attempt       integer     NOT NULL,
        attempts_left integer     NOT NULL,
        waiting_for   text,
        due_at        timestamptz,
        output        jsonb,
        last_error    jsonb,
        position      smallint    NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tx_id, step_id)
      )`);

    await q.query(`
      CREATE TABLE events (
        id      bigserial   PRIMARY KEY,
        tx_id   uuid        NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        type    text        NOT NULL,
        step_id text,
        actor   text,
        data    jsonb       NOT NULL,
        at      timestamptz NOT NULL
      )`);
    await q.query('CREATE INDEX events_tx ON events (tx_id, id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE events');
    await q.query('DROP TABLE steps');
    await q.query('DROP TABLE transactions');
    await q.query('DROP TABLE definitions');
  }
}
