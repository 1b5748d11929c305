import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alerts to webhooks (docs/operations.md, Alerts).
 *
 * - `alert_webhooks`: where alerts go, with the secret that signs them, its rate limit and
 *   the current window (`window_start`, `window_sent`), updated under the row's lock so the
 *   limit holds across instances.
 * - `alerts`: what happened, one row per event, written in the database transaction of the
 *   event where there is one (a decision that fails a transaction). `dedupe_key` makes an
 *   event that several instances or passes see (a stuck transaction, a circuit opening) one
 *   row; `fanned_out` marks rows already turned into deliveries (partial index: only the
 *   few new rows are in it).
 * - `alert_deliveries`: one alert to one webhook, with its attempts; a row without an alert
 *   is the summary of what the rate limit folded (`summary_id` on the folded rows once a
 *   summary covered them). Due rows are claimed like timers (partial index on pending rows
 *   only).
 * - `alert_scans`: one lease row per periodic scan, so one instance at a time runs it.
 *
 * audit_log also records admin actions that concern no transaction (webhooks managed).
 */
export class Alerts1765500000000 implements MigrationInterface {
  name = 'Alerts1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE alert_webhooks (
        id           uuid        PRIMARY KEY,
        url          text        NOT NULL,
        secret       text        NOT NULL,
        kinds        text[]      NOT NULL,
        per_minute   integer     NOT NULL,
        created_by   text        NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        window_start timestamptz NOT NULL DEFAULT 'epoch',
        window_sent  integer     NOT NULL DEFAULT 0
      )`);
    await q.query(`
      CREATE TABLE alerts (
        id              bigserial   PRIMARY KEY,
        kind            text        NOT NULL,
        tx_id           uuid,
        participant     text,
        definition_name text,
        data            jsonb       NOT NULL,
        dedupe_key      text,
        at              timestamptz NOT NULL DEFAULT now(),
        fanned_out      boolean     NOT NULL DEFAULT false
      )`);
    await q.query('CREATE UNIQUE INDEX alerts_dedupe ON alerts (dedupe_key) WHERE dedupe_key IS NOT NULL');
    await q.query('CREATE INDEX alerts_new ON alerts (id) WHERE NOT fanned_out');
    // Retention deletes a transaction's alerts with it.
    await q.query('CREATE INDEX alerts_tx ON alerts (tx_id) WHERE tx_id IS NOT NULL');
    await q.query(`
      CREATE TABLE alert_deliveries (
        id          bigserial   PRIMARY KEY,
        alert_id    bigint      REFERENCES alerts (id) ON DELETE CASCADE,
        webhook_id  uuid        NOT NULL REFERENCES alert_webhooks (id) ON DELETE CASCADE,
        state       text        NOT NULL DEFAULT 'pending',
        attempts    integer     NOT NULL DEFAULT 0,
        due_at      timestamptz NOT NULL DEFAULT now(),
        last_error  text,
        summary_id  bigint,
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX alert_deliveries_due ON alert_deliveries (due_at) WHERE state = 'pending'`);
    await q.query(`CREATE UNIQUE INDEX alert_deliveries_open_summary ON alert_deliveries (webhook_id)
      WHERE alert_id IS NULL AND state = 'pending'`);
    await q.query(`CREATE INDEX alert_deliveries_unsummarized ON alert_deliveries (webhook_id) WHERE state = 'folded' AND summary_id IS NULL`);
    await q.query('CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id)');
    await q.query(`CREATE TABLE alert_scans (name text PRIMARY KEY, next_run_at timestamptz NOT NULL DEFAULT 'epoch')`);
    await q.query(`INSERT INTO alert_scans (name) VALUES ('stuck')`);
    await q.query(`ALTER TABLE audit_log ALTER COLUMN tx_id DROP NOT NULL, ALTER COLUMN definition_name DROP NOT NULL,
      ALTER COLUMN definition_version DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM audit_log WHERE tx_id IS NULL`);
    await q.query(`ALTER TABLE audit_log ALTER COLUMN tx_id SET NOT NULL, ALTER COLUMN definition_name SET NOT NULL,
      ALTER COLUMN definition_version SET NOT NULL`);
    await q.query('DROP TABLE alert_scans');
    await q.query('DROP TABLE alert_deliveries');
    await q.query('DROP TABLE alerts');
    await q.query('DROP TABLE alert_webhooks');
  }
}
