import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TxType } from '@ordo/protocol';
import { TxStatus } from '../../engine';
import { ListFilter, whereClause } from './transaction.repository';

/** A transaction in one line: what lists, the overview and the change feed show. */
export interface TransactionSummaryRow {
  id: string;
  definitionName: string;
  definitionVersion: number;
  type: TxType;
  status: TxStatus;
  createdAt: Date;
  updatedAt: Date;
}

/** Of the transactions that ended in a bucket, those that rolled back and those left `failed` (the rest completed). */
export interface EndedBucketRow {
  start: Date;
  ended: number;
  compensated: number;
  failed: number;
}

const SUMMARY_COLUMNS = `t.id, t.definition_name AS "definitionName", t.definition_version AS "definitionVersion", t.type,
  t.status, t.created_at AS "createdAt", t.updated_at AS "updatedAt"`;

/** Read-only aggregates for the dashboard; each query is a range scan of an index or of the timing rollup. */
@Injectable()
export class InsightsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Transactions matching the filter (whatever their status), per status, among the first
   * `limit` found: a broad filter at a million rows would otherwise read every match.
   */
  async countByStatus(filter: Omit<ListFilter, 'status'>, limit: number): Promise<Map<TxStatus, number>> {
    const { clause, params } = whereClause(filter);
    const rows: { status: TxStatus; count: number }[] = await this.dataSource.query(
      `SELECT status, count(*)::int AS count FROM (SELECT status FROM transactions ${clause} LIMIT $${params.length + 1}) matched GROUP BY status`,
      [...params, limit],
    );
    return new Map(rows.map((r) => [r.status, r.count]));
  }

  /**
   * The transactions that ended in each bucket `bucketSeconds` wide from `from` on, by outcome:
   * the transaction-level rows of the timing rollup (a row per definition and bucket), so it costs
   * the buckets, not the transactions.
   */
  async endedPerBucket(bucketSeconds: number, from: Date): Promise<EndedBucketRow[]> {
    return this.dataSource.query(
      `SELECT bucket_start AS start, sum(count)::int AS ended, sum(failures - needs_operator)::int AS compensated, sum(needs_operator)::int AS failed
       FROM timing_rollup WHERE bucket_seconds = $1 AND bucket_start >= $2 AND step_id = '' GROUP BY 1 ORDER BY 1`,
      [bucketSeconds, from],
    );
  }

  /** Running and compensating transactions now: the partial index `transactions_live`, which holds only those. */
  async live(): Promise<Map<TxStatus, number>> {
    const rows: { status: TxStatus; count: number }[] = await this.dataSource.query(
      `SELECT status, count(*)::int AS count FROM transactions WHERE status IN ('running', 'compensating') GROUP BY status`,
    );
    return new Map(rows.map((r) => [r.status, r.count]));
  }

  /** Active transactions (running or compensating, not paused: those wait on purpose) with no update since `before`, stalest first. */
  async stuck(before: Date, limit: number): Promise<TransactionSummaryRow[]> {
    return this.dataSource.query(
      `SELECT ${SUMMARY_COLUMNS} FROM transactions t WHERE t.status IN ('running', 'compensating') AND t.paused IS NULL AND t.updated_at < $1
       ORDER BY t.updated_at LIMIT $2`,
      [before, limit],
    );
  }

  /** The newest history entry's id: where a change feed starts. */
  async lastEventId(): Promise<string> {
    const [row]: { id: string }[] = await this.dataSource.query('SELECT coalesce(max(id), 0)::text AS id FROM events');
    return row.id;
  }

  /**
   * Transactions with history entries after `afterEventId` (a primary-key range, so it costs
   * what changed, not what exists), and the last entry id read.
   */
  async changedSince(afterEventId: string, limit: number): Promise<{ rows: TransactionSummaryRow[]; lastEventId: string }> {
    const rows: (TransactionSummaryRow & { last: string })[] = await this.dataSource.query(
      `SELECT ${SUMMARY_COLUMNS}, c.last::text AS last FROM
         (SELECT tx_id, max(id) AS last FROM events WHERE id > $1 GROUP BY tx_id ORDER BY last LIMIT $2) c
       JOIN transactions t ON t.id = c.tx_id ORDER BY c.last`,
      [afterEventId, limit],
    );
    const lastEventId = rows.reduce((last, row) => (BigInt(row.last) > BigInt(last) ? row.last : last), afterEventId);
    return { rows: rows.map(({ last: _last, ...summary }) => summary), lastEventId };
  }
}
