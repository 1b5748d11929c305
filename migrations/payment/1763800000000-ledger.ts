import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts with their balance in cents, and the charges place-order transactions make on
 * them. A balance can never go negative: a charge debits with a conditional UPDATE and the
 * CHECK backs that up.
 */
export class Ledger1763800000000 implements MigrationInterface {
  name = 'Ledger1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE accounts (
        id          text        PRIMARY KEY,
        owner       text        NOT NULL,
        balance     bigint      NOT NULL CHECK (balance >= 0),
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // One charge per transaction step: what a refund of that step pays back.
    await q.query(`
      CREATE TABLE charges (
        id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        tx_id       text        NOT NULL,
        step_id     text        NOT NULL,
        account_id  text        NOT NULL REFERENCES accounts (id),
        order_id    uuid        NOT NULL,
        amount      bigint      NOT NULL CHECK (amount > 0),
        status      text        NOT NULL DEFAULT 'charged' CHECK (status IN ('charged', 'refunded')),
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tx_id, step_id)
      )`);
    await q.query('CREATE INDEX charges_order ON charges (order_id, created_at)');
    await q.query('CREATE INDEX charges_newest ON charges (created_at DESC, id DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE charges');
    await q.query('DROP TABLE accounts');
  }
}
