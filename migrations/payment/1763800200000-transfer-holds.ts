import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The TCC transfer sample: money a transfer step has reserved but not yet moved.
 *
 * - `accounts.frozen` is the part of the balance held by tried withdrawals; only
 *   `balance - frozen` can be withdrawn or charged. The CHECKs back up the conditional
 *   UPDATEs: frozen money can never go negative nor exceed the balance.
 * - `transfer_holds` has one row per transfer step (the step's try): a debit froze its
 *   amount, a credit only records what the confirm will add. Confirm and cancel settle it.
 */
export class TransferHolds1763800200000 implements MigrationInterface {
  name = 'TransferHolds1763800200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE accounts
        ADD COLUMN frozen bigint NOT NULL DEFAULT 0,
        ADD CONSTRAINT accounts_frozen_not_negative CHECK (frozen >= 0),
        ADD CONSTRAINT accounts_frozen_within_balance CHECK (frozen <= balance)`);
    await q.query(`
      CREATE TABLE transfer_holds (
        id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        tx_id       text        NOT NULL,
        step_id     text        NOT NULL,
        account_id  text        NOT NULL REFERENCES accounts (id),
        amount      bigint      NOT NULL CHECK (amount > 0),
        direction   text        NOT NULL CHECK (direction IN ('debit', 'credit')),
        status      text        NOT NULL DEFAULT 'tried' CHECK (status IN ('tried', 'confirmed', 'cancelled')),
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tx_id, step_id)
      )`);
    await q.query('CREATE INDEX transfer_holds_account ON transfer_holds (account_id, created_at DESC, id DESC)');
    await q.query('CREATE INDEX transfer_holds_newest ON transfer_holds (created_at DESC, id DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE transfer_holds');
    await q.query('ALTER TABLE accounts DROP COLUMN frozen');
  }
}
