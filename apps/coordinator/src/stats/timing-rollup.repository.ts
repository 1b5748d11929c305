import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { HistoryEvent, NOT_ON_TIMELINE, TimedEvent } from '../engine';
import { RollupRow, SeriesCounts } from './timing-rollup';

/** An end to add to the rollup: a transaction's history up to and with that end, and its definition. */
export interface EndedTransaction {
  readonly definitionName: string;
  readonly history: readonly TimedEvent[];
  readonly endIndex: number;
}

interface StoredRollupRow {
  definition_name: string;
  step_id: string;
  phase: string;
  bucket_seconds: number;
  bucket_start: Date;
  count: number;
  failures: number;
  needs_operator: number;
  retries: number;
  duration_hist: number[];
  duration_min: number | null;
  duration_max: number | null;
  total_hist: number[];
  total_min: number | null;
  total_max: number | null;
}

const COLUMNS = `definition_name, step_id, phase, bucket_seconds, bucket_start, count, failures, needs_operator, retries,
  duration_hist, duration_min, duration_max, total_hist, total_min, total_max`;

/** Histograms add up bucket by bucket (the shorter one padded with zeros). */
// Element by element; two empty histograms (a series with no timing, e.g. only failures)
// stay empty: array_agg over no rows is NULL, which the column refuses.
const addHistograms = (column: string) =>
  `${column} = coalesce((SELECT array_agg(coalesce(a, 0) + coalesce(b, 0) ORDER BY n) FROM unnest(r.${column}, excluded.${column}) WITH ORDINALITY AS u (a, b, n)), '{}')`;

const toStored = (row: RollupRow): StoredRollupRow => ({
  definition_name: row.definitionName,
  step_id: row.stepId,
  phase: row.phase,
  bucket_seconds: row.bucketSeconds,
  bucket_start: new Date(row.bucketStart),
  count: row.count,
  failures: row.failures,
  needs_operator: row.needsOperator,
  retries: row.retries,
  duration_hist: [...row.duration],
  duration_min: row.durationRange?.min ?? null,
  duration_max: row.durationRange?.max ?? null,
  total_hist: [...row.total],
  total_min: row.totalRange?.min ?? null,
  total_max: row.totalRange?.max ?? null,
});

/** A row as a window reads it: histograms as their text (`{1,0,2}`), which splits many times faster than pg parses int[]. */
type ReadRow = Omit<StoredRollupRow, 'bucket_seconds' | 'bucket_start' | 'duration_hist' | 'total_hist'> & {
  duration_hist: string;
  total_hist: string;
};

const READ_COLUMNS = `definition_name, step_id, phase, count, failures, needs_operator, retries,
  duration_hist::text, duration_min, duration_max, total_hist::text, total_min, total_max`;

const histogram = (text: string) => (text.length <= 2 ? [] : text.slice(1, -1).split(',').map(Number));
const range = (min: number | null, max: number | null) => (min === null || max === null ? null : { min, max });
const fromRead = (row: ReadRow): SeriesCounts => ({
  definitionName: row.definition_name,
  stepId: row.step_id,
  phase: row.phase,
  count: row.count,
  failures: row.failures,
  needsOperator: row.needs_operator,
  retries: row.retries,
  duration: histogram(row.duration_hist),
  durationRange: range(row.duration_min, row.duration_max),
  total: histogram(row.total_hist),
  totalRange: range(row.total_min, row.total_max),
});

/** The SQL of the timing rollup: the queue of ends (`ended_transactions`) and the rows per series and bucket (`timing_rollup`). */
@Injectable()
export class TimingRollupRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Whether any end waits: one cheap statement when nothing ended. */
  async anyEnded(): Promise<boolean> {
    const [row]: { any: boolean }[] = await this.dataSource.query('SELECT EXISTS (SELECT 1 FROM ended_transactions) AS any');
    return row.any;
  }

  /**
   * Runs `work` in one database transaction under the rollup's lock (one instance at a time
   * adds to the rollup, so two never add to one row at once); null when another holds it.
   */
  locked<T>(work: (manager: EntityManager) => Promise<T>): Promise<T | null> {
    return this.dataSource.transaction(async (manager) => {
      const [{ locked }]: { locked: boolean }[] = await manager.query(
        `SELECT pg_try_advisory_xact_lock(hashtext('ordo-timing-rollup:' || current_schema())) AS locked`,
      );
      return locked ? work(manager) : null;
    });
  }

  /** Takes (deletes) up to `limit` ends, oldest first, with the history each needs. */
  async takeEnded(manager: EntityManager, limit: number): Promise<EndedTransaction[]> {
    // A DELETE answers [rows, count].
    const [taken]: [{ event_id: string; tx_id: string }[], number] = await manager.query(
      `DELETE FROM ended_transactions WHERE event_id IN (SELECT event_id FROM ended_transactions ORDER BY event_id LIMIT $1)
       RETURNING event_id::text, tx_id`,
      [limit],
    );
    if (taken.length === 0) return [];
    const txIds = [...new Set(taken.map((t) => t.tx_id))];
    const last = taken.reduce((max, t) => (BigInt(t.event_id) > BigInt(max) ? t.event_id : max), '0');
    // Names and events apart: joined, the planner read all of `transactions` for the names
    // (60 ms against 5 + 4 for 600 ends). Only what the timings read (endTimings: the
    // timeline's events) is fetched and parsed. Sorted by `e.id`: a bare `id` would name the
    // text column selected, and event 10 would come before event 9.
    const names: { id: string; definition_name: string }[] = await manager.query(
      'SELECT id, definition_name FROM transactions WHERE id = ANY($1::uuid[])',
      [txIds],
    );
    const rows: { tx_id: string; id: string; at: Date; data: HistoryEvent }[] = await manager.query(
      `SELECT e.tx_id, e.id::text, e.at, e.data FROM events e
       WHERE e.tx_id = ANY($1::uuid[]) AND e.id <= $2 AND e.type <> ALL($3::text[]) ORDER BY e.tx_id, e.id`,
      [txIds, last, NOT_ON_TIMELINE],
    );
    // A transaction purged meanwhile has no name here: its end is dropped.
    const histories = new Map(names.map((n) => [n.id, { definitionName: n.definition_name, ids: [] as string[], history: [] as TimedEvent[] }]));
    for (const row of rows) {
      const h = histories.get(row.tx_id);
      h?.ids.push(row.id);
      h?.history.push({ at: row.at.getTime(), event: row.data });
    }
    return taken.flatMap(({ event_id, tx_id }) => {
      const h = histories.get(tx_id);
      const endIndex = h?.ids.indexOf(event_id) ?? -1;
      return h && endIndex >= 0 ? [{ definitionName: h.definitionName, history: h.history, endIndex }] : [];
    });
  }

  /** Drops the oldest end from the queue (one the rollup cannot take); its transaction's id, null when none waited. */
  async setAsideOldest(): Promise<string | null> {
    const [taken]: [{ tx_id: string }[], number] = await this.dataSource.query(
      'DELETE FROM ended_transactions WHERE event_id = (SELECT min(event_id) FROM ended_transactions) RETURNING tx_id',
    );
    return taken[0]?.tx_id ?? null;
  }

  /** Adds rows (each key at most once) to those stored. */
  async add(manager: EntityManager, rows: readonly RollupRow[]): Promise<void> {
    if (rows.length === 0) return;
    await manager.query(
      `INSERT INTO timing_rollup AS r (${COLUMNS})
       SELECT ${COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS x (definition_name text, step_id text, phase text,
         bucket_seconds int, bucket_start timestamptz, count int, failures int, needs_operator int, retries int,
         duration_hist int[], duration_min int, duration_max int, total_hist int[], total_min int, total_max int)
       ON CONFLICT (bucket_seconds, bucket_start, definition_name, step_id, phase) DO UPDATE SET
         count = r.count + excluded.count, failures = r.failures + excluded.failures,
         needs_operator = r.needs_operator + excluded.needs_operator, retries = r.retries + excluded.retries,
         ${addHistograms('duration_hist')}, ${addHistograms('total_hist')},
         duration_min = least(r.duration_min, excluded.duration_min), duration_max = greatest(r.duration_max, excluded.duration_max),
         total_min = least(r.total_min, excluded.total_min), total_max = greatest(r.total_max, excluded.total_max)`,
      [JSON.stringify(rows.map(toStored))],
    );
  }

  /** Deletes the rows older than `buckets` buckets of their width (no window reads them). */
  async prune(manager: EntityManager, buckets: number): Promise<number> {
    const [, deleted]: [unknown, number] = await manager.query(
      `DELETE FROM timing_rollup WHERE bucket_start < now() - bucket_seconds * $1::int * interval '1 second'`,
      [buckets],
    );
    return deleted;
  }

  /** The counts of the buckets `bucketSeconds` wide starting at or after `from`, of one definition or all, oldest first. */
  async rows(bucketSeconds: number, from: Date, definition?: string): Promise<SeriesCounts[]> {
    const rows: ReadRow[] = await this.dataSource.query(
      `SELECT ${READ_COLUMNS} FROM timing_rollup WHERE bucket_seconds = $1 AND bucket_start >= $2 AND ($3::text IS NULL OR definition_name = $3)
       ORDER BY bucket_start`,
      [bucketSeconds, from, definition ?? null],
    );
    return rows.map(fromRead);
  }
}
