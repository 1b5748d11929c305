import { MigrationInterface, QueryRunner } from 'typeorm';

/** Orders: one per place-order transaction (tx_id), pending until confirmed or cancelled. */
export class Orders1763800000000 implements MigrationInterface {
  name = 'Orders1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orders (
        id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        tx_id       text        NOT NULL UNIQUE,
        customer    text        NOT NULL,
        sku         text        NOT NULL,
        qty         integer     NOT NULL CHECK (qty > 0),
        amount      bigint      NOT NULL CHECK (amount > 0),
        account_id  text        NOT NULL,
        status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'cancelled')),
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // The list endpoint: newest first, optionally by status.
    await q.query('CREATE INDEX orders_newest ON orders (created_at DESC, id DESC)');
    await q.query('CREATE INDEX orders_status_newest ON orders (status, created_at DESC, id DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE orders');
  }
}
