import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Timing statistics without reading the history at query time.
 *
 * - `ended_transactions`: one row per end of a transaction (the id of its history event
 *   `transaction.status_changed` to completed, compensated or failed), written by the very
 *   statement that records the end, so no end is missed or counted twice. The rollup job takes
 *   and deletes them.
 * - `timing_rollup`: per definition and series (the transaction as a whole: step_id and phase
 *   ''; or one step phase) and time bucket (a minute, ten minutes or an hour: bucket_seconds), how many
 *   ended, failed, needed an operator, were retried, and log-scale histograms of the durations
 *   (see apps/coordinator/src/stats/latency-histogram.ts) with their smallest and largest
 *   values. A window's percentiles are read from its buckets.
 */
export class TimingRollup1766100000000 implements MigrationInterface {
  name = 'TimingRollup1766100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE ended_transactions (event_id bigint PRIMARY KEY, tx_id uuid NOT NULL)');
    await q.query(`
      CREATE TABLE timing_rollup (
        bucket_seconds  integer     NOT NULL,
        bucket_start    timestamptz NOT NULL,
        definition_name text        NOT NULL,
        step_id         text        NOT NULL,
        phase           text        NOT NULL,
        count           integer     NOT NULL,
        failures        integer     NOT NULL,
        needs_operator  integer     NOT NULL,
        retries         integer     NOT NULL,
        duration_hist   integer[]   NOT NULL,
        duration_min    integer,
        duration_max    integer,
        total_hist      integer[]   NOT NULL,
        total_min       integer,
        total_max       integer,
        PRIMARY KEY (bucket_seconds, bucket_start, definition_name, step_id, phase)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE timing_rollup');
    await q.query('DROP TABLE ended_transactions');
  }
}
