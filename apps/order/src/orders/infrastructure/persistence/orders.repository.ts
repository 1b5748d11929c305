import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Order, OrderStatus } from '../../domain/order';

interface OrderRow {
  id: string;
  tx_id: string | null;
  customer: string;
  sku: string;
  qty: number;
  /** bigint: node-postgres returns it as a string. */
  amount: string;
  account_id: string;
  status: OrderStatus;
  created_at: Date;
  updated_at: Date;
}

const toOrder = (row: OrderRow): Order => ({
  id: row.id,
  txId: row.tx_id,
  customer: row.customer,
  sku: row.sku,
  qty: row.qty,
  amount: Number(row.amount),
  accountId: row.account_id,
  status: row.status,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export type NewOrder = Pick<Order, 'txId' | 'customer' | 'sku' | 'qty' | 'amount' | 'accountId'>;

/**
 * The orders table in plain SQL. Writes take the command's local transaction (`tx`), so
 * they commit or roll back with its barrier row; reads use the pool.
 */
@Injectable()
export class OrdersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts a pending order; with an `idempotencyKey` some order already holds, that order instead (`placed: false`). */
  async insertPending(tx: EntityManager, order: NewOrder, idempotencyKey: string | null = null): Promise<{ order: Order; placed: boolean }> {
    const [row]: OrderRow[] = await tx.query(
      `INSERT INTO orders (tx_id, customer, sku, qty, amount, account_id, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *`,
      [order.txId, order.customer, order.sku, order.qty, order.amount, order.accountId, idempotencyKey],
    );
    if (row) return { order: toOrder(row), placed: true };
    const [held]: OrderRow[] = await tx.query('SELECT * FROM orders WHERE idempotency_key = $1', [idempotencyKey]);
    return { order: toOrder(held), placed: false };
  }

  /**
   * Moves the order found by `key` from `from` to `to`, and returns its status afterwards:
   * `to` when it moved, its unchanged status otherwise, null when there is no such order.
   */
  async transition(tx: EntityManager, key: { id: string } | { txId: string }, from: OrderStatus, to: OrderStatus): Promise<OrderStatus | null> {
    const [column, value] = 'id' in key ? (['id', key.id] as const) : (['tx_id', key.txId] as const);
    // FOR UPDATE: the status read when nothing moved stays true until the transaction ends.
    const [found]: Pick<OrderRow, 'id' | 'status'>[] = await tx.query(`SELECT id, status FROM orders WHERE ${column} = $1 FOR UPDATE`, [value]);
    if (!found) return null;
    if (found.status !== from) return found.status;
    await tx.query('UPDATE orders SET status = $2, updated_at = now() WHERE id = $1', [found.id, to]);
    return to;
  }

  /** The order, locked until the transaction ends; null when there is none. */
  async lockById(tx: EntityManager, id: string): Promise<Order | null> {
    const [row]: OrderRow[] = await tx.query('SELECT * FROM orders WHERE id = $1 FOR UPDATE', [id]);
    return row ? toOrder(row) : null;
  }

  async setTxId(tx: EntityManager, id: string, txId: string): Promise<void> {
    await tx.query('UPDATE orders SET tx_id = $2, updated_at = now() WHERE id = $1', [id, txId]);
  }

  async list(filter: { status?: OrderStatus; limit: number }): Promise<Order[]> {
    const rows: OrderRow[] = await this.dataSource.query(
      `SELECT * FROM orders WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2`,
      [filter.status ?? null, filter.limit],
    );
    return rows.map(toOrder);
  }

  async findById(id: string): Promise<Order | null> {
    const [row]: OrderRow[] = await this.dataSource.query('SELECT * FROM orders WHERE id = $1', [id]);
    return row ? toOrder(row) : null;
  }
}
