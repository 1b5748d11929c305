import { MigrationInterface, QueryRunner } from 'typeorm';

/** Demo products for `npm start` (SKU-1 is what its sample order buys; SKU-4 is sold out). */
export class DemoProducts1763800100000 implements MigrationInterface {
  name = 'DemoProducts1763800100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      INSERT INTO products (sku, name, stock) VALUES
        ('SKU-1', 'Espresso beans, 1 kg', 100),
        ('SKU-2', 'Pour-over kettle', 25),
        ('SKU-3', 'Burr grinder', 5),
        ('SKU-4', 'Paper filters, 100', 0)
      ON CONFLICT (sku) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM products WHERE sku IN ('SKU-1', 'SKU-2', 'SKU-3', 'SKU-4')`);
  }
}
