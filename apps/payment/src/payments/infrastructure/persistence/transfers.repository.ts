import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { HoldDirection, HoldStatus, SETTLEMENTS, SettledStatus, TransferHold } from '../../domain/transfer-hold';

// amount is a bigint column: node-postgres returns it as a string.
interface HoldRow {
  id: string;
  tx_id: string;
  step_id: string;
  account_id: string;
  amount: string;
  direction: HoldDirection;
  status: HoldStatus;
  created_at: Date;
  updated_at: Date;
}

const toHold = (row: HoldRow): TransferHold => ({
  id: row.id,
  txId: row.tx_id,
  stepId: row.step_id,
  accountId: row.account_id,
  amount: Number(row.amount),
  direction: row.direction,
  status: row.status,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export type NewHold = Pick<TransferHold, 'txId' | 'stepId' | 'accountId' | 'amount'>;

/**
 * Transfer holds and the account changes they make, in plain SQL. Each write is one
 * statement that changes the hold and its account together, and takes the command's
 * local transaction (`tx`); reads use the pool.
 */
@Injectable()
export class TransfersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Freezes `amount` on the account and records the debit hold, in one conditional
   * UPDATE: concurrent withdrawals and charges queue on the row lock and each re-checks
   * the available balance (balance - frozen) it finds. Null when it is short (or there is
   * no such account); nothing changed.
   */
  async holdDebit(tx: EntityManager, hold: NewHold): Promise<TransferHold | null> {
    const [row]: HoldRow[] = await tx.query(
      `WITH frozen AS (
         UPDATE accounts SET frozen = frozen + $4, updated_at = now()
         WHERE id = $3 AND balance - frozen >= $4 RETURNING id)
       INSERT INTO transfer_holds (tx_id, step_id, account_id, amount, direction)
       SELECT $1, $2, id, $4, 'debit' FROM frozen RETURNING *`,
      [hold.txId, hold.stepId, hold.accountId, hold.amount],
    );
    return row ? toHold(row) : null;
  }

  /** Records a credit hold, leaving the account as it is. Null when there is no such account. */
  async holdCredit(tx: EntityManager, hold: NewHold): Promise<TransferHold | null> {
    const [row]: HoldRow[] = await tx.query(
      `INSERT INTO transfer_holds (tx_id, step_id, account_id, amount, direction)
       SELECT $1, $2, id, $4, 'credit' FROM accounts WHERE id = $3 RETURNING *`,
      [hold.txId, hold.stepId, hold.accountId, hold.amount],
    );
    return row ? toHold(row) : null;
  }

  /**
   * Settles the step's hold if it is still tried, applying SETTLEMENTS to its account;
   * a hold already settled (or missing) changes nothing.
   */
  async settle(tx: EntityManager, txId: string, stepId: string, direction: HoldDirection, status: SettledStatus): Promise<void> {
    const { balance, frozen } = SETTLEMENTS[direction][status];
    await tx.query(
      `WITH settled AS (
         UPDATE transfer_holds SET status = $4, updated_at = now()
         WHERE tx_id = $1 AND step_id = $2 AND direction = $3 AND status = 'tried'
         RETURNING account_id, amount)
       UPDATE accounts a SET balance = a.balance + $5::int * s.amount, frozen = a.frozen + $6::int * s.amount, updated_at = now()
       FROM settled s WHERE a.id = s.account_id AND ($5::int <> 0 OR $6::int <> 0)`,
      [txId, stepId, direction, status, balance, frozen],
    );
  }

  async listHolds(filter: { txId?: string; accountId?: string; limit: number }): Promise<TransferHold[]> {
    const rows: HoldRow[] = await this.dataSource.query(
      `SELECT * FROM transfer_holds
       WHERE ($1::text IS NULL OR tx_id = $1) AND ($2::text IS NULL OR account_id = $2)
       ORDER BY created_at DESC, id DESC LIMIT $3`,
      [filter.txId ?? null, filter.accountId ?? null, filter.limit],
    );
    return rows.map(toHold);
  }
}
