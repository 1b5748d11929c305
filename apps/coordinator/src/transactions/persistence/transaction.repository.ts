import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { JsonObject, ReplyError, TxType } from '@ordo/protocol';
import { HistoryEvent, RollbackCause, StepState, TransactionState, TwoPcDecision, TwoPcState, TxStatus } from '../../engine';
import { TransactionRecord } from './transaction-record';

interface TransactionRow {
  id: string;
  definition_name: string;
  definition_version: number;
  type: TxType;
  status: TxStatus;
  input: JsonObject;
  started_at: Date | null;
  deadline: Date | null;
  rollback: RollbackCause | null;
  idempotency_key: string | null;
  traceparent: string | null;
  decision: TwoPcDecision | null;
  created_at: Date;
  updated_at: Date;
}

interface StepRow {
  tx_id: string;
  step_id: string;
  participant: string;
  status: StepState['status'];
  phase: StepState['phase'];
  attempt: number;
  attempts_left: number;
  waiting_for: StepState['waitingFor'];
  due_at: Date | null;
  output: JsonObject | null;
  last_error: ReplyError | null;
  updated_at: Date;
}

export interface EventRow {
  id: string;
  type: string;
  stepId: string | null;
  actor: string | null;
  data: HistoryEvent;
  at: Date;
}

export interface ListFilter {
  status?: TxStatus;
  definition?: string;
  type?: TxType;
  createdFrom?: Date;
  createdTo?: Date;
}

/** A locked transaction's new state, and when its next timer is due. */
export interface StateChange {
  before: TransactionRecord;
  after: TransactionState;
  nextDueAt: number | null;
}

/** Position in the newest-first order: after (createdAt, id). */
export interface Cursor {
  createdAt: Date;
  id: string;
}

const TX_COLUMNS = `id, definition_name, definition_version, type, status, input, started_at, deadline, rollback,
  idempotency_key, traceparent, decision, created_at, updated_at`;

/** The 2PC decision a state holds; null for other protocols and before the decision. */
const decisionOfState = (state: TransactionState): TwoPcDecision | null =>
  'decision' in state ? (state as TwoPcState).decision : null;

const ms = (date: Date | null) => (date === null ? null : date.getTime());
const date = (instant: number | null) => (instant === null ? null : new Date(instant));

function toRecord(row: TransactionRow, steps: StepRow[]): TransactionRecord {
  return {
    id: row.id,
    definitionName: row.definition_name,
    definitionVersion: row.definition_version,
    type: row.type,
    input: row.input,
    idempotencyKey: row.idempotency_key,
    traceparent: row.traceparent,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    layout: steps.map((s) => ({ id: s.step_id, participant: s.participant })),
    state: {
      // A 2PC state carries its global decision (see engine/twopc/README.md).
      ...(row.type === '2pc' ? { decision: row.decision } : {}),
      status: row.status,
      startedAt: ms(row.started_at),
      deadline: ms(row.deadline),
      rollback: row.rollback,
      steps: Object.fromEntries(
        steps.map((s) => [
          s.step_id,
          {
            status: s.status,
            phase: s.phase,
            attempt: s.attempt,
            attemptsLeft: s.attempts_left,
            waitingFor: s.waiting_for,
            dueAt: ms(s.due_at),
            output: s.output,
            lastError: s.last_error,
          } satisfies StepState,
        ]),
      ),
    },
  };
}

/** The (engine state, step) pairs that differ between two states: only these are written. */
function changedSteps(before: TransactionState | null, after: TransactionState): [string, StepState][] {
  // The engine updates immutably, so an unchanged step is the very same object.
  return Object.entries(after.steps).filter(([id, step]) => before?.steps[id] !== step);
}

/**
 * All SQL about transactions, their steps and their history. Methods that take an
 * EntityManager run inside the caller's database transaction.
 */
@Injectable()
export class TransactionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts a new transaction; returns false (and writes nothing) when the idempotency key is taken. */
  async insert(manager: EntityManager, record: TransactionRecord, nextDueAt: number | null): Promise<boolean> {
    const s = record.state;
    const inserted: unknown[] = await manager.query(
      `INSERT INTO transactions (id, definition_name, definition_version, type, status, input, started_at, deadline,
         rollback, next_due_at, idempotency_key, traceparent, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
       ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        record.id, record.definitionName, record.definitionVersion, record.type, s.status, record.input,
        date(s.startedAt), date(s.deadline), s.rollback === null ? null : JSON.stringify(s.rollback), date(nextDueAt),
        record.idempotencyKey, record.traceparent, record.createdAt,
      ],
    );
    if (inserted.length === 0) return false;
    await this.writeSteps(manager, [{ record, before: null }]);
    return true;
  }

  /**
   * Writes the new states of locked transactions: their rows in one statement, and the
   * steps that changed in another, however many transactions a batch of replies touched.
   */
  async update(manager: EntityManager, changes: readonly StateChange[]) {
    if (changes.length === 0) return;
    const col = <T>(pick: (change: StateChange) => T) => changes.map(pick);
    await manager.query(
      `UPDATE transactions t SET status = c.status, started_at = c.started_at, deadline = c.deadline,
         rollback = c.rollback, next_due_at = c.next_due_at, decision = c.decision, updated_at = now()
       FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::jsonb[], $6::timestamptz[], $7::text[])
         AS c (id, status, started_at, deadline, rollback, next_due_at, decision)
       WHERE t.id = c.id`,
      [
        col((c) => c.before.id),
        col((c) => c.after.status),
        col((c) => date(c.after.startedAt)),
        col((c) => date(c.after.deadline)),
        col((c) => (c.after.rollback === null ? null : JSON.stringify(c.after.rollback))),
        col((c) => date(c.nextDueAt)),
        col((c) => decisionOfState(c.after)),
      ],
    );
    await this.writeSteps(manager, changes.map((c) => ({ record: { ...c.before, state: c.after }, before: c.before.state })));
  }

  private async writeSteps(manager: EntityManager, records: { record: TransactionRecord; before: TransactionState | null }[]) {
    const rows = records.flatMap(({ record, before }) => {
      const position = new Map(record.layout.map((step, index) => [step.id, index]));
      return changedSteps(before, record.state).map(([id, step]) => {
        const at = position.get(id)!;
        return { txId: record.id, id, participant: record.layout[at].participant, at, step };
      });
    });
    if (rows.length === 0) return;
    const col = <T>(pick: (row: (typeof rows)[number]) => T) => rows.map(pick);
    await manager.query(
      `INSERT INTO steps (tx_id, step_id, participant, status, phase, attempt, attempts_left, waiting_for, due_at,
         output, last_error, position, updated_at)
       SELECT *, now() FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[],
         $8::text[], $9::timestamptz[], $10::jsonb[], $11::jsonb[], $12::smallint[])
       ON CONFLICT (tx_id, step_id) DO UPDATE SET status = excluded.status, phase = excluded.phase,
         attempt = excluded.attempt, attempts_left = excluded.attempts_left, waiting_for = excluded.waiting_for,
         due_at = excluded.due_at, output = excluded.output, last_error = excluded.last_error, updated_at = now()`,
      [
        col((r) => r.txId),
        col((r) => r.id),
        col((r) => r.participant),
        col((r) => r.step.status),
        col((r) => r.step.phase),
        col((r) => r.step.attempt),
        col((r) => r.step.attemptsLeft),
        col((r) => r.step.waitingFor),
        col((r) => date(r.step.dueAt)),
        col((r) => (r.step.output === null ? null : JSON.stringify(r.step.output))),
        col((r) => (r.step.lastError === null ? null : JSON.stringify(r.step.lastError))),
        col((r) => r.at),
      ],
    );
  }

  /** Locks and loads transactions; rows are locked in id order so concurrent lockers cannot deadlock. */
  async lock(manager: EntityManager, ids: string[]): Promise<Map<string, TransactionRecord>> {
    const rows: TransactionRow[] = await manager.query(
      `SELECT ${TX_COLUMNS} FROM transactions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
    return this.withSteps(manager, rows);
  }

  /** Claims transactions whose next due time has come; others' claims are skipped, not awaited. */
  async claimDue(manager: EntityManager, now: number, limit: number): Promise<Map<string, TransactionRecord>> {
    const rows: TransactionRow[] = await manager.query(
      `SELECT ${TX_COLUMNS} FROM transactions WHERE next_due_at <= $1 ORDER BY next_due_at LIMIT $2
       FOR UPDATE SKIP LOCKED`,
      [new Date(now), limit],
    );
    return this.withSteps(manager, rows);
  }

  private async withSteps(manager: EntityManager | DataSource, rows: TransactionRow[]) {
    const records = new Map<string, TransactionRecord>();
    if (rows.length === 0) return records;
    const steps: StepRow[] = await manager.query(
      'SELECT * FROM steps WHERE tx_id = ANY($1::uuid[]) ORDER BY tx_id, position',
      [rows.map((r) => r.id)],
    );
    const byTx = new Map<string, StepRow[]>();
    for (const step of steps) byTx.set(step.tx_id, [...(byTx.get(step.tx_id) ?? []), step]);
    for (const row of rows) records.set(row.id, toRecord(row, byTx.get(row.id) ?? []));
    return records;
  }

  /**
   * Commands awaiting a reply, by participant: of the given participants, or of all. Reads
   * only the partial index of live commands.
   */
  async countAwaitingReply(
    participants: readonly string[] | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<string, number>> {
    const rows: { participant: string; count: number }[] = await manager.query(
      `SELECT participant, count(*)::int AS count FROM steps
       WHERE waiting_for = 'reply' AND ($1::text[] IS NULL OR participant = ANY($1)) GROUP BY participant`,
      [participants],
    );
    return new Map(rows.map((row) => [row.participant, row.count]));
  }

  async appendEvents(manager: EntityManager, events: { txId: string; event: HistoryEvent; at: number }[]) {
    if (events.length === 0) return;
    const col = <T>(pick: (e: (typeof events)[number]) => T) => events.map(pick);
    await manager.query(
      `INSERT INTO events (tx_id, type, step_id, actor, data, at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])`,
      [
        col((e) => e.txId),
        col((e) => e.event.type),
        col((e) => ('stepId' in e.event ? e.event.stepId : null)),
        col((e) => ('actor' in e.event ? e.event.actor : null)),
        col((e) => JSON.stringify(e.event)),
        col((e) => new Date(e.at)),
      ],
    );
  }

  async findById(id: string): Promise<TransactionRecord | null> {
    const rows: TransactionRow[] = await this.dataSource.query(`SELECT ${TX_COLUMNS} FROM transactions WHERE id = $1`, [id]);
    return (await this.withSteps(this.dataSource, rows)).get(id) ?? null;
  }

  async findByIdempotencyKey(key: string): Promise<TransactionRecord | null> {
    const rows: TransactionRow[] = await this.dataSource.query(
      `SELECT ${TX_COLUMNS} FROM transactions WHERE idempotency_key = $1`,
      [key],
    );
    return [...(await this.withSteps(this.dataSource, rows)).values()][0] ?? null;
  }

  /** Newest first, keyset-paginated: the page after `cursor`, `limit` rows at most. */
  async list(filter: ListFilter, limit: number, cursor?: Cursor): Promise<TransactionRecord[]> {
    const { clause, params } = whereClause(filter, cursor);
    const rows: TransactionRow[] = await this.dataSource.query(
      `SELECT ${TX_COLUMNS} FROM transactions ${clause} ORDER BY created_at DESC, id DESC LIMIT $${params.length + 1}`,
      [...params, limit],
    );
    return [...(await this.withSteps(this.dataSource, rows)).values()];
  }

  /** Ids of transactions matching the filter in a given status, oldest first. */
  async idsMatching(filter: ListFilter, limit: number): Promise<string[]> {
    const { clause, params } = whereClause(filter);
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM transactions ${clause} ORDER BY created_at, id LIMIT $${params.length + 1}`,
      [...params, limit],
    );
    return rows.map((r) => r.id);
  }

  async events(txId: string): Promise<EventRow[]> {
    const rows: { id: string; type: string; step_id: string | null; actor: string | null; data: HistoryEvent; at: Date }[] =
      await this.dataSource.query('SELECT id, type, step_id, actor, data, at FROM events WHERE tx_id = $1 ORDER BY id', [txId]);
    return rows.map((r) => ({ id: r.id, type: r.type, stepId: r.step_id, actor: r.actor, data: r.data, at: r.at }));
  }
}

export function whereClause(filter: ListFilter, cursor?: Cursor): { clause: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(`$${params.length}`));
  };
  if (filter.status) add((p) => `status = ${p}`, filter.status);
  if (filter.definition) add((p) => `definition_name = ${p}`, filter.definition);
  if (filter.type) add((p) => `type = ${p}`, filter.type);
  if (filter.createdFrom) add((p) => `created_at >= ${p}`, filter.createdFrom);
  if (filter.createdTo) add((p) => `created_at < ${p}`, filter.createdTo);
  if (cursor) {
    params.push(cursor.createdAt, cursor.id);
    conditions.push(`(created_at, id) < ($${params.length - 1}, $${params.length}::uuid)`);
  }
  return { clause: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', params };
}
