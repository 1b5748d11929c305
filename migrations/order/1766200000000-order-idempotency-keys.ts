import { MigrationInterface, QueryRunner } from 'typeorm';

/** A client's Idempotency-Key on POST /api/v1/orders: a retried request finds the order its first try placed. */
export class OrderIdempotencyKeys1766200000000 implements MigrationInterface {
  name = 'OrderIdempotencyKeys1766200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE orders ADD COLUMN idempotency_key text');
    await q.query('CREATE UNIQUE INDEX orders_idempotency_key ON orders (idempotency_key) WHERE idempotency_key IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX orders_idempotency_key');
    await q.query('ALTER TABLE orders DROP COLUMN idempotency_key');
  }
}
