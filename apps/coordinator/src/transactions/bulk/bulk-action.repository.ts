import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { JsonObject } from '@ordo/protocol';
import { Cursor, ListFilter } from '../persistence/transaction.repository';
import { BulkAction, BulkActionKind } from './bulk-actions';

interface BulkRow {
  id: string;
  action: BulkActionKind;
  params: JsonObject;
  filter: JsonObject;
  max_count: number;
  actor: string;
  status: 'running' | 'done';
  matched: number;
  processed: number;
  applied: number;
  after_created_at: Date | null;
  after_id: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** A bulk action as its runner needs it. */
export interface BulkRun extends BulkAction {
  maxCount: number;
  /** The last transaction gone through; null before the first. */
  after: Cursor | null;
}

const COLUMNS = `id, action, params, filter, max_count, actor, status, matched, processed, applied, after_created_at, after_id,
  created_at, updated_at, finished_at`;

function toRun(row: BulkRow): BulkRun {
  return {
    id: row.id,
    action: row.action,
    params: row.params,
    filter: row.filter,
    actor: row.actor,
    status: row.status,
    matched: row.matched,
    processed: row.processed,
    applied: row.applied,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    maxCount: row.max_count,
    after: row.after_created_at && row.after_id ? { createdAt: row.after_created_at, id: row.after_id } : null,
  };
}

/** The filter as stored (JSON) back as the repository's filter. */
export function filterOf(stored: JsonObject): ListFilter {
  const date = (value: unknown) => (typeof value === 'string' ? new Date(value) : undefined);
  return { ...(stored as ListFilter), createdFrom: date(stored.createdFrom), createdTo: date(stored.createdTo) };
}

/** The `bulk_actions` table: each run, its lease and its progress. */
@Injectable()
export class BulkActionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Records a new run, with its audit entry, in one statement. */
  async insert(run: Omit<BulkRun, 'status' | 'processed' | 'applied' | 'createdAt' | 'updatedAt' | 'finishedAt' | 'after'>): Promise<BulkRun> {
    const [row]: BulkRow[] = await this.dataSource.query(
      `WITH inserted AS (
         INSERT INTO bulk_actions (id, action, params, filter, max_count, actor, status, matched)
         VALUES ($1, $2, $3, $4, $5, $6, 'running', $7) RETURNING ${COLUMNS}),
       audited AS (
         INSERT INTO audit_log (type, actor, data, at)
         SELECT 'operator.bulk_started', actor, jsonb_build_object('bulkActionId', id, 'action', action, 'params', params,
           'filter', filter, 'matched', matched), now() FROM inserted)
       SELECT * FROM inserted`,
      [run.id, run.action, JSON.stringify(run.params), JSON.stringify(run.filter), run.maxCount, run.actor, run.matched],
    );
    return toRun(row);
  }

  async get(id: string): Promise<BulkRun | null> {
    const rows: BulkRow[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM bulk_actions WHERE id = $1`, [id]);
    return rows.length > 0 ? toRun(rows[0]) : null;
  }

  /** The latest runs, newest first. */
  async latest(limit: number): Promise<BulkRun[]> {
    const rows: BulkRow[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM bulk_actions ORDER BY created_at DESC LIMIT $1`, [limit]);
    return rows.map(toRun);
  }

  /**
   * Takes the oldest running run that no instance holds (its lease ran out, or it never had
   * one) for `leaseMs`; null when there is none.
   */
  async claim(leaseMs: number): Promise<BulkRun | null> {
    const [rows]: [BulkRow[], number] = await this.dataSource.query(
      `UPDATE bulk_actions SET lease_until = now() + $1::int * interval '1 millisecond' WHERE id = (
         SELECT id FROM bulk_actions WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now())
         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [leaseMs],
    );
    return rows.length > 0 ? toRun(rows[0]) : null;
  }

  /** Gives a run back before its lease ends (this instance stops): another takes it at once. */
  async release(id: string): Promise<void> {
    await this.dataSource.query(`UPDATE bulk_actions SET lease_until = NULL WHERE id = $1 AND status = 'running'`, [id]);
  }

  /** Records a batch gone through, and keeps the lease `leaseMs` longer; `done` ends the run. */
  async progress(id: string, batch: { processed: number; applied: number; after: Cursor | null; done: boolean }, leaseMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE bulk_actions SET processed = processed + $2, applied = applied + $3,
         after_created_at = coalesce($4, after_created_at), after_id = coalesce($5, after_id), updated_at = now(),
         status = CASE WHEN $6 THEN 'done' ELSE status END, finished_at = CASE WHEN $6 THEN now() END,
         lease_until = CASE WHEN $6 THEN NULL ELSE now() + $7::int * interval '1 millisecond' END
       WHERE id = $1`,
      [id, batch.processed, batch.applied, batch.after?.createdAt ?? null, batch.after?.id ?? null, batch.done, leaseMs],
    );
  }
}
