import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { KnownTransaction } from './in-doubt';
import { PreparedItemDto } from './in-doubt.dto';

/** A participant that stopped reporting (removed, renamed) leaves its rows; they go after a day. */
const FORGET_AFTER = '1 day';

/** The most rows the in-doubt view shows: far more than a healthy cluster holds. */
const LIST_LIMIT = 500;

export interface PreparedWorkRow {
  participant: string;
  tx_id: string;
  step_id: string;
  gid: string;
  xid: string;
  prepared_at: Date;
  relations: string[];
  waiters: number;
  reported_by: string;
  reported_at: Date;
  finish_requested_by: string | null;
  finish_requested_at: Date | null;
  now: Date;
  /** The coordinator's transaction (null when it has none). */
  tx: KnownTransaction | null;
}

const SELECT_WORK = `
  SELECT p.*, now() AS now,
    CASE WHEN t.id IS NULL THEN NULL ELSE jsonb_build_object('type', t.type, 'status', t.status, 'decision', t.decision) END AS tx
  FROM prepared_work p LEFT JOIN transactions t ON t.id = p.tx_id`;

/** Table `prepared_work`: the prepared transactions participants report holding. */
@Injectable()
export class PreparedWorkRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Replaces the participant's rows by its report, in one statement, and answers the steps
   * an operator asked to finish now among those it still holds.
   */
  async report(participant: string, instance: string, items: readonly PreparedItemDto[]): Promise<{ txId: string; stepId: string }[]> {
    const rows: { tx_id: string; step_id: string }[] = await this.dataSource.query(
      `WITH incoming AS (
         SELECT * FROM jsonb_to_recordset($2::jsonb)
           AS r (gid text, "txId" uuid, "stepId" text, xid text, "preparedAt" timestamptz, relations text[], waiters integer)),
       gone AS (
         DELETE FROM prepared_work
         WHERE (participant = $1 AND gid NOT IN (SELECT gid FROM incoming)) OR reported_at < now() - interval '${FORGET_AFTER}'),
       kept AS (
         INSERT INTO prepared_work (gid, participant, tx_id, step_id, xid, prepared_at, relations, waiters, reported_by, reported_at)
         SELECT gid, $1, "txId", "stepId", xid, "preparedAt", relations, waiters, $3, now() FROM incoming
         ON CONFLICT (gid) DO UPDATE
           SET relations = excluded.relations, waiters = excluded.waiters, reported_by = excluded.reported_by, reported_at = excluded.reported_at
         RETURNING tx_id, step_id, finish_requested_at)
       SELECT tx_id, step_id FROM kept WHERE finish_requested_at IS NOT NULL`,
      [participant, JSON.stringify(items), instance],
    );
    return rows.map((row) => ({ txId: row.tx_id, stepId: row.step_id }));
  }

  async list(): Promise<PreparedWorkRow[]> {
    return this.dataSource.query(`${SELECT_WORK} ORDER BY p.prepared_at LIMIT ${LIST_LIMIT}`);
  }

  async find(participant: string, txId: string, stepId: string): Promise<PreparedWorkRow | null> {
    const rows: PreparedWorkRow[] = await this.dataSource.query(`${SELECT_WORK} WHERE p.participant = $1 AND p.tx_id = $2 AND p.step_id = $3`, [
      participant,
      txId,
      stepId,
    ]);
    return rows[0] ?? null;
  }

  /**
   * Marks it to be finished now, with its audit entry: in the transaction's history when the
   * coordinator has the transaction, in the audit log otherwise. False when it is gone.
   */
  async requestFinish(row: PreparedWorkRow, actor: string, note: string | null): Promise<boolean> {
    const type = 'operator.prepared_finish_requested';
    const data = { type, txId: row.tx_id, stepId: row.step_id, actor, participant: row.participant, gid: row.gid, note };
    const marked: unknown[] = await this.dataSource.query(
      `WITH marked AS (
         UPDATE prepared_work SET finish_requested_by = $3, finish_requested_at = now() WHERE gid = $1 RETURNING tx_id),
       tx AS (SELECT t.id FROM transactions t JOIN marked m ON m.tx_id = t.id),
       history AS (
         INSERT INTO events (tx_id, type, step_id, actor, data, at) SELECT id, $4, $2, $3, $5, now() FROM tx),
       audited AS (
         INSERT INTO audit_log (type, step_id, actor, data, at)
         SELECT $4, $2, $3, $5, now() FROM marked WHERE NOT EXISTS (SELECT 1 FROM tx))
       SELECT 1 FROM marked`,
      [row.gid, row.step_id, actor, type, JSON.stringify(data)],
    );
    return marked.length > 0;
  }
}
