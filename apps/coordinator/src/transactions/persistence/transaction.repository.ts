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
  /** The transaction's steps in layout order, as JSON (json_agg): timestamps are ISO strings. */
  steps: StepRow[];
}

interface StepRow {
  step_id: string;
  participant: string;
  status: StepState['status'];
  phase: StepState['phase'];
  attempt: number;
  attempts_left: number;
  waiting_for: StepState['waitingFor'];
  due_at: string | null;
  output: JsonObject | null;
  last_error: ReplyError | null;
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

/**
 * Transactions with their steps in one statement (one snapshot): callers add WHERE, ORDER BY
 * and LIMIT. Never FOR UPDATE: see lockThenLoad.
 */
const SELECT_WITH_STEPS = `SELECT ${TX_COLUMNS}, (SELECT coalesce(json_agg(json_build_object('step_id', s.step_id,
    'participant', s.participant, 'status', s.status, 'phase', s.phase, 'attempt', s.attempt, 'attempts_left', s.attempts_left,
    'waiting_for', s.waiting_for, 'due_at', s.due_at, 'output', s.output, 'last_error', s.last_error) ORDER BY s.position), '[]')
    FROM steps s WHERE s.tx_id = t.id) AS steps
  FROM transactions t`;

/** The 2PC decision a state holds; null for other protocols and before the decision. */
const decisionOfState = (state: TransactionState): TwoPcDecision | null =>
  'decision' in state ? (state as TwoPcState).decision : null;

const ms = (date: Date | null) => (date === null ? null : date.getTime());
const date = (instant: number | null) => (instant === null ? null : new Date(instant));

function toRecord(row: TransactionRow): TransactionRecord {
  const { steps } = row;
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
            dueAt: s.due_at === null ? null : Date.parse(s.due_at),
            output: s.output,
            lastError: s.last_error,
          } satisfies StepState,
        ]),
      ),
    },
  };
}

const byId = (records: TransactionRecord[]) => new Map(records.map((record) => [record.id, record]));

/** The (engine state, step) pairs that differ between two states: only these are written. */
function changedSteps(before: TransactionState | null, after: TransactionState): [string, StepState][] {
  // The engine updates immutably, so an unchanged step is the very same object.
  return Object.entries(after.steps).filter(([id, step]) => before?.steps[id] !== step);
}

/**
 * The upsert of the steps that changed, as SQL whose parameters start at `first` (so it can
 * share a statement) and whose rows go in only `where` that holds; null when no step changed.
 */
function stepsUpsert(
  records: { record: TransactionRecord; before: TransactionState | null }[],
  first: number,
  where = 'true',
): { sql: string; params: unknown[] } | null {
  const rows = records.flatMap(({ record, before }) => {
    const position = new Map(record.layout.map((step, index) => [step.id, index]));
    return changedSteps(before, record.state).map(([id, step]) => {
      const at = position.get(id)!;
      return { txId: record.id, id, participant: record.layout[at].participant, at, step };
    });
  });
  if (rows.length === 0) return null;
  const col = <T>(pick: (row: (typeof rows)[number]) => T) => rows.map(pick);
  const $ = (n: number) => `$${first + n}`;
  return {
    sql: `INSERT INTO steps (tx_id, step_id, participant, status, phase, attempt, attempts_left, waiting_for, due_at,
         output, last_error, position, updated_at)
       SELECT *, now() FROM unnest(${$(0)}::uuid[], ${$(1)}::text[], ${$(2)}::text[], ${$(3)}::text[], ${$(4)}::text[],
         ${$(5)}::int[], ${$(6)}::int[], ${$(7)}::text[], ${$(8)}::timestamptz[], ${$(9)}::jsonb[], ${$(10)}::jsonb[],
         ${$(11)}::smallint[]) AS changed WHERE ${where}
       ON CONFLICT (tx_id, step_id) DO UPDATE SET status = excluded.status, phase = excluded.phase,
         attempt = excluded.attempt, attempts_left = excluded.attempts_left, waiting_for = excluded.waiting_for,
         due_at = excluded.due_at, output = excluded.output, last_error = excluded.last_error, updated_at = now()`,
    params: [
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
  };
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
    const params = [
      record.id, record.definitionName, record.definitionVersion, record.type, s.status, record.input,
      date(s.startedAt), date(s.deadline), s.rollback === null ? null : JSON.stringify(s.rollback), date(nextDueAt),
      record.idempotencyKey, record.traceparent, record.createdAt,
    ];
    const steps = stepsUpsert([{ record, before: null }], params.length + 1, 'EXISTS (SELECT FROM inserted)');
    // One statement: the steps go in only with their transaction (not when the idempotency key was taken).
    const inserted: unknown[] = await manager.query(
      `WITH inserted AS (
         INSERT INTO transactions (id, definition_name, definition_version, type, status, input, started_at, deadline,
           rollback, next_due_at, idempotency_key, traceparent, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
         ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING id)${steps ? `, steps AS (${steps.sql})` : ''}
       SELECT id FROM inserted`,
      [...params, ...(steps?.params ?? [])],
    );
    return inserted.length > 0;
  }

  /**
   * Writes the new states of locked transactions in one statement, however many a batch of
   * replies touched: their rows, and the steps that changed.
   */
  async update(manager: EntityManager, changes: readonly StateChange[]) {
    if (changes.length === 0) return;
    const col = <T>(pick: (change: StateChange) => T) => changes.map(pick);
    const params = [
      col((c) => c.before.id),
      col((c) => c.after.status),
      col((c) => date(c.after.startedAt)),
      col((c) => date(c.after.deadline)),
      col((c) => (c.after.rollback === null ? null : JSON.stringify(c.after.rollback))),
      col((c) => date(c.nextDueAt)),
      col((c) => decisionOfState(c.after)),
    ];
    const steps = stepsUpsert(
      changes.map((c) => ({ record: { ...c.before, state: c.after }, before: c.before.state })),
      params.length + 1,
    );
    await manager.query(
      `WITH updated AS (
         UPDATE transactions t SET status = c.status, started_at = c.started_at, deadline = c.deadline,
           rollback = c.rollback, next_due_at = c.next_due_at, decision = c.decision, updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::jsonb[], $6::timestamptz[], $7::text[])
           AS c (id, status, started_at, deadline, rollback, next_due_at, decision)
         WHERE t.id = c.id
         RETURNING 1)
       ${steps ? steps.sql : 'SELECT FROM updated'}`,
      [...params, ...(steps?.params ?? [])],
    );
  }

  /** Locks and loads transactions; rows are locked in id order so concurrent lockers cannot deadlock. */
  async lock(manager: EntityManager, ids: string[]): Promise<Map<string, TransactionRecord>> {
    return this.lockThenLoad(manager, 'WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [ids]);
  }

  /** Claims transactions whose next due time has come; others' claims are skipped, not awaited. */
  async claimDue(manager: EntityManager, now: number, limit: number): Promise<Map<string, TransactionRecord>> {
    return this.lockThenLoad(manager, 'WHERE next_due_at <= $1 ORDER BY next_due_at LIMIT $2 FOR UPDATE SKIP LOCKED', [new Date(now), limit]);
  }

  /**
   * Locks first, then loads, in two statements. One would read the steps with a snapshot
   * taken before its lock was granted: after waiting for another decision's commit it would
   * pair that decision's transaction row with the steps from before it, and the next decision
   * would write stale steps back (the chaos run found this).
   */
  private async lockThenLoad(manager: EntityManager, tail: string, params: unknown[]): Promise<Map<string, TransactionRecord>> {
    const locked: { id: string }[] = await manager.query(`SELECT id FROM transactions ${tail}`, params);
    if (locked.length === 0) return new Map();
    return byId(await this.load(manager, 'WHERE id = ANY($1::uuid[]) ORDER BY id', [locked.map((row) => row.id)]));
  }

  /** Transactions with their steps, one statement; `tail` is everything after FROM. */
  private async load(manager: EntityManager | DataSource, tail: string, params: unknown[]): Promise<TransactionRecord[]> {
    const rows: TransactionRow[] = await manager.query(`${SELECT_WITH_STEPS} ${tail}`, params);
    return rows.map(toRecord);
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
    return (await this.load(this.dataSource, 'WHERE id = $1', [id]))[0] ?? null;
  }

  async findByIdempotencyKey(key: string): Promise<TransactionRecord | null> {
    return (await this.load(this.dataSource, 'WHERE idempotency_key = $1', [key]))[0] ?? null;
  }

  /** Newest first, keyset-paginated: the page after `cursor`, `limit` rows at most. */
  async list(filter: ListFilter, limit: number, cursor?: Cursor): Promise<TransactionRecord[]> {
    const { clause, params } = whereClause(filter, cursor);
    return this.load(this.dataSource, `${clause} ORDER BY created_at DESC, id DESC LIMIT $${params.length + 1}`, [...params, limit]);
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
