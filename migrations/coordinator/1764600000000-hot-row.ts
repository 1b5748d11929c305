import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per transaction, written by one statement per decision.
 *
 * - The steps move into the transaction row (`steps`, a JSON array in layout order): a
 *   decision rewrites one row instead of upserting step rows.
 * - `version` makes writes conditional (optimistic concurrency): a decision reads without a
 *   lock and writes only if nobody wrote since, so no row lock is held across the decision.
 * - Timers move to their own small table: the due time changes on nearly every decision,
 *   and as an indexed column of `transactions` it made every update non-HOT (a new entry in
 *   every index). Now a decision changes no indexed column of `transactions` until its status
 *   changes, and the lower fillfactor leaves room on the page for HOT updates.
 * - Retention reads `finished_at`, set once at the end, instead of `updated_at` (also indexed,
 *   also changed by every decision).
 * - Foreign keys whose checks ran on every insert go: definitions are checked when a
 *   transaction starts and never deleted; history rows are deleted with their transaction
 *   by retention.
 */
export class HotRow1764600000000 implements MigrationInterface {
  name = 'HotRow1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions ADD COLUMN version integer NOT NULL DEFAULT 0,
      ADD COLUMN steps jsonb, ADD COLUMN finished_at timestamptz`);
    await q.query(`UPDATE transactions t SET
      steps = coalesce((SELECT jsonb_agg(jsonb_build_object('step_id', s.step_id, 'participant', s.participant,
          'status', s.status, 'phase', s.phase, 'attempt', s.attempt, 'attempts_left', s.attempts_left,
          'waiting_for', s.waiting_for, 'due_at', (extract(epoch FROM s.due_at) * 1000)::bigint, 'output', s.output,
          'last_error', s.last_error) ORDER BY s.position) FROM steps s WHERE s.tx_id = t.id), '[]'),
      finished_at = CASE WHEN status IN ('completed', 'compensated') THEN updated_at END`);
    await q.query('ALTER TABLE transactions ALTER COLUMN steps SET NOT NULL');
    await q.query('ALTER TABLE transactions SET (fillfactor = 70)');

    await q.query('CREATE TABLE timers (tx_id uuid PRIMARY KEY, due_at timestamptz NOT NULL)');
    await q.query('CREATE INDEX timers_due ON timers (due_at)');
    await q.query('INSERT INTO timers (tx_id, due_at) SELECT id, next_due_at FROM transactions WHERE next_due_at IS NOT NULL');
    await q.query('ALTER TABLE transactions DROP COLUMN next_due_at');

    await q.query('DROP TABLE steps');
    await q.query('DROP INDEX IF EXISTS transactions_finished');
    await q.query('CREATE INDEX transactions_finished ON transactions (finished_at) WHERE finished_at IS NOT NULL');
    // The in-flight count reads the steps of live transactions only.
    await q.query(`CREATE INDEX transactions_live ON transactions (id) WHERE status IN ('running', 'compensating')`);
    await q.query('ALTER TABLE events DROP CONSTRAINT IF EXISTS events_tx_id_fkey');
    await q.query('ALTER TABLE transactions DROP CONSTRAINT IF EXISTS transactions_definition_name_definition_version_fkey');
  }

  down(): Promise<void> {
    return Promise.reject(new Error('HotRow1764600000000 cannot be reverted: the step rows were folded into their transactions'));
  }
}
