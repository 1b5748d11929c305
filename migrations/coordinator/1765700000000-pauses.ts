import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pauses. `transactions.paused` holds a paused transaction's pause (since when, the
 * operator who paused it, the paused participants it waits for); null otherwise.
 * `paused_participants` holds the participants an operator paused: every command to them
 * is held until they are resumed.
 *
 * - Decisions write `paused` with the rest of the state: set to the value it had (null
 *   nearly always), it keeps their updates HOT.
 * - Partial index `transactions_paused` (paused rows only, few): finds the transactions to
 *   resume with a participant, and those a lost resume left paused; built CONCURRENTLY,
 *   as transactions_tags, so that upgrading a large database does not block writes.
 */
export class Pauses1765700000000 implements MigrationInterface {
  name = 'Pauses1765700000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE transactions ADD COLUMN IF NOT EXISTS paused jsonb');
    await q.query(`
      CREATE TABLE IF NOT EXISTS paused_participants (
        participant text        PRIMARY KEY,
        paused_by   text        NOT NULL,
        note        text,
        paused_at   timestamptz NOT NULL DEFAULT now()
      )`);
    const [leftover] = (await q.query(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname = 'transactions_paused' AND c.relnamespace = current_schema()::regnamespace`,
    )) as { valid: boolean }[];
    if (leftover && !leftover.valid) await q.query('DROP INDEX CONCURRENTLY transactions_paused');
    await q.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS transactions_paused ON transactions (created_at) WHERE paused IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS transactions_paused');
    await q.query('DROP TABLE IF EXISTS paused_participants');
    await q.query('ALTER TABLE transactions DROP COLUMN IF EXISTS paused');
  }
}
