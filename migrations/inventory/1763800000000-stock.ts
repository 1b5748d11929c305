import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Products with their stock on hand, and the reservations place-order transactions hold
 * on it. Stock can never go negative: a reservation takes it with a conditional UPDATE and
 * the CHECK backs that up.
 */
export class Stock1763800000000 implements MigrationInterface {
  name = 'Stock1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE products (
        sku         text        PRIMARY KEY,
        name        text        NOT NULL,
        stock       integer     NOT NULL CHECK (stock >= 0),
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // One reservation per transaction step: what a release of that step puts back.
    await q.query(`
      CREATE TABLE reservations (
        id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        tx_id       text        NOT NULL,
        step_id     text        NOT NULL,
        order_id    uuid        NOT NULL,
        sku         text        NOT NULL REFERENCES products (sku),
        qty         integer     NOT NULL CHECK (qty > 0),
        status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'released')),
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tx_id, step_id)
      )`);
    await q.query('CREATE INDEX reservations_order ON reservations (order_id, created_at)');
    await q.query('CREATE INDEX reservations_newest ON reservations (created_at DESC, id DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE reservations');
    await q.query('DROP TABLE products');
  }
}
