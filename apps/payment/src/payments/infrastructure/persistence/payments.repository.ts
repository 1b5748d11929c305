import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { PreparedStatement, runPreparedIn } from '@ordo/participant';
import { Account } from '../../domain/account';
import { Charge, ChargeStatus } from '../../domain/charge';

// bigint columns (balance, frozen, amount): node-postgres returns them as strings.
interface AccountRow {
  id: string;
  owner: string;
  balance: string;
  frozen: string;
  created_at: Date;
  updated_at: Date;
}

interface ChargeRow {
  id: string;
  tx_id: string;
  step_id: string;
  account_id: string;
  order_id: string;
  amount: string;
  status: ChargeStatus;
  created_at: Date;
  updated_at: Date;
}

const toAccount = (row: AccountRow): Account => ({
  id: row.id,
  owner: row.owner,
  balance: Number(row.balance),
  frozen: Number(row.frozen),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toCharge = (row: ChargeRow): Charge => ({
  id: row.id,
  txId: row.tx_id,
  stepId: row.step_id,
  accountId: row.account_id,
  orderId: row.order_id,
  amount: Number(row.amount),
  status: row.status,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export type NewCharge = Pick<Charge, 'txId' | 'stepId' | 'accountId' | 'orderId' | 'amount'>;

/** The saga's statements, prepared once per connection: they run for every command. */
const CHARGE: PreparedStatement = {
  name: 'payment_charge',
  text: `WITH debited AS (
         UPDATE accounts SET balance = balance - $5, updated_at = now() WHERE id = $3 AND balance - frozen >= $5 RETURNING id)
       INSERT INTO charges (tx_id, step_id, account_id, order_id, amount) SELECT $1, $2, id, $4, $5 FROM debited RETURNING *`,
};
const REFUND: PreparedStatement = {
  name: 'payment_refund',
  text: `WITH refunded AS (
         UPDATE charges SET status = 'refunded', updated_at = now()
         WHERE tx_id = $1 AND step_id = $2 AND status = 'charged'
         RETURNING account_id, amount)
       UPDATE accounts a SET balance = a.balance + r.amount, updated_at = now()
       FROM refunded r WHERE a.id = r.account_id`,
};

/**
 * Accounts and charges in plain SQL. Writes take the command's local transaction (`tx`),
 * so they commit or roll back with its barrier row; reads use the pool.
 */
@Injectable()
export class PaymentsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Debits the account and records the charge, in one statement. The debit is a conditional
   * UPDATE, so concurrent charges can never overdraw: the row lock orders them and each
   * re-checks the balance it finds. Money frozen by tried transfers is not available. Null
   * when the available balance is short (or there is no such account); nothing changed.
   */
  async charge(tx: EntityManager, charge: NewCharge): Promise<Charge | null> {
    const [row] = await runPreparedIn<ChargeRow>(tx, CHARGE, [charge.txId, charge.stepId, charge.accountId, charge.orderId, charge.amount]);
    return row ? toCharge(row) : null;
  }

  /** Refunds the step's charge if it is still charged, crediting the account; nothing otherwise. */
  async refund(tx: EntityManager, txId: string, stepId: string): Promise<void> {
    await runPreparedIn(tx, REFUND, [txId, stepId]);
  }

  async findAccount(id: string, tx: EntityManager = this.dataSource.manager): Promise<Account | null> {
    const [row]: AccountRow[] = await tx.query('SELECT * FROM accounts WHERE id = $1', [id]);
    return row ? toAccount(row) : null;
  }

  async listAccounts(limit: number): Promise<Account[]> {
    const rows: AccountRow[] = await this.dataSource.query('SELECT * FROM accounts ORDER BY id LIMIT $1', [limit]);
    return rows.map(toAccount);
  }

  async listCharges(filter: { orderId?: string; limit: number }): Promise<Charge[]> {
    const rows: ChargeRow[] = await this.dataSource.query(
      `SELECT * FROM charges WHERE ($1::uuid IS NULL OR order_id = $1) ORDER BY created_at DESC, id DESC LIMIT $2`,
      [filter.orderId ?? null, filter.limit],
    );
    return rows.map(toCharge);
  }
}
