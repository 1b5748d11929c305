import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Orders placed with POST /api/v1/orders exist before their place-order transaction does:
 * tx_id is set when its create-order step adopts the order.
 */
export class OrdersPlacedHere1766000000100 implements MigrationInterface {
  name = 'OrdersPlacedHere1766000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE orders ALTER COLUMN tx_id DROP NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DELETE FROM orders WHERE tx_id IS NULL');
    await q.query('ALTER TABLE orders ALTER COLUMN tx_id SET NOT NULL');
  }
}
