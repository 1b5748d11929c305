import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { PreparedStatement, runPreparedIn } from '@ordo/participant';
import { Product } from '../../domain/product';
import { Reservation, ReservationStatus } from '../../domain/reservation';

interface ProductRow {
  sku: string;
  name: string;
  stock: number;
  created_at: Date;
  updated_at: Date;
}

interface ReservationRow {
  id: string;
  tx_id: string;
  step_id: string;
  order_id: string;
  sku: string;
  qty: number;
  status: ReservationStatus;
  created_at: Date;
  updated_at: Date;
}

const toProduct = (row: ProductRow): Product => ({
  sku: row.sku,
  name: row.name,
  stock: row.stock,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toReservation = (row: ReservationRow): Reservation => ({
  id: row.id,
  txId: row.tx_id,
  stepId: row.step_id,
  orderId: row.order_id,
  sku: row.sku,
  qty: row.qty,
  status: row.status,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export type NewReservation = Pick<Reservation, 'txId' | 'stepId' | 'orderId' | 'sku' | 'qty'>;

/** The saga's statements, prepared once per connection: they run for every command. */
const RESERVE: PreparedStatement = {
  name: 'inventory_reserve',
  text: `WITH taken AS (
         UPDATE products SET stock = stock - $5, updated_at = now() WHERE sku = $4 AND stock >= $5 RETURNING sku)
       INSERT INTO reservations (tx_id, step_id, order_id, sku, qty) SELECT $1, $2, $3, sku, $5 FROM taken RETURNING *`,
};
const RELEASE: PreparedStatement = {
  name: 'inventory_release',
  text: `WITH released AS (
         UPDATE reservations SET status = 'released', updated_at = now()
         WHERE tx_id = $1 AND step_id = $2 AND status = 'active'
         RETURNING sku, qty)
       UPDATE products p SET stock = p.stock + r.qty, updated_at = now()
       FROM released r WHERE p.sku = r.sku`,
};

/**
 * Products and reservations in plain SQL. Writes take the command's local transaction
 * (`tx`), so they commit or roll back with its barrier row; reads use the pool.
 */
@Injectable()
export class StockRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Takes the reservation's quantity off the stock and records the reservation, in one
   * statement. The stock is taken by a conditional UPDATE, so concurrent reservations can
   * never oversell: the row lock orders them and each re-checks the stock it finds. Null
   * when there is not enough (or no such product); nothing changed.
   */
  async reserve(tx: EntityManager, reservation: NewReservation): Promise<Reservation | null> {
    const [row] = await runPreparedIn<ReservationRow>(tx, RESERVE, [
      reservation.txId,
      reservation.stepId,
      reservation.orderId,
      reservation.sku,
      reservation.qty,
    ]);
    return row ? toReservation(row) : null;
  }

  /** Releases the step's reservation if it is active and puts its stock back; nothing otherwise. */
  async release(tx: EntityManager, txId: string, stepId: string): Promise<void> {
    await runPreparedIn(tx, RELEASE, [txId, stepId]);
  }

  async findProduct(sku: string, tx: EntityManager = this.dataSource.manager): Promise<Product | null> {
    const [row]: ProductRow[] = await tx.query('SELECT * FROM products WHERE sku = $1', [sku]);
    return row ? toProduct(row) : null;
  }

  async listProducts(limit: number): Promise<Product[]> {
    const rows: ProductRow[] = await this.dataSource.query('SELECT * FROM products ORDER BY sku LIMIT $1', [limit]);
    return rows.map(toProduct);
  }

  async listReservations(filter: { orderId?: string; limit: number }): Promise<Reservation[]> {
    const rows: ReservationRow[] = await this.dataSource.query(
      `SELECT * FROM reservations WHERE ($1::uuid IS NULL OR order_id = $1) ORDER BY created_at DESC, id DESC LIMIT $2`,
      [filter.orderId ?? null, filter.limit],
    );
    return rows.map(toReservation);
  }
}
