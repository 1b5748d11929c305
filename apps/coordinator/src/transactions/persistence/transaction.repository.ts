import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { OutgoingMessage, PreparedStatement, runPrepared } from '@ordo/platform';
import { HEADERS, JsonObject, ReplyError, TxType } from '@ordo/protocol';
import { HistoryEvent, Pause, RollbackCause, StepState, TransactionState, TwoPcDecision, TwoPcState, TxStatus } from '../../engine';
import { failedAlert } from '../../alerts/alert';
import { TransactionRecord } from './transaction-record';
import { tagOfFilter, Tags } from '../tags';

interface TransactionRow {
  id: string;
  definition_name: string;
  definition_version: number;
  type: TxType;
  status: TxStatus;
  paused: Pause | null;
  input: JsonObject;
  started_at: Date | null;
  deadline: Date | null;
  rollback: RollbackCause | null;
  idempotency_key: string | null;
  started_by: string | null;
  traceparent: string | null;
  decision: TwoPcDecision | null;
  created_at: Date;
  updated_at: Date;
  version: number;
  ignored_replies: number;
  tags: Tags | null;
  /** The transaction's steps in layout order. */
  steps: StepRow[];
}

/** A step as stored in its transaction's `steps` array. */
interface StepRow {
  step_id: string;
  participant: string;
  status: StepState['status'];
  phase: StepState['phase'];
  attempt: number;
  attempts_left: number;
  waiting_for: StepState['waitingFor'];
  /** Epoch milliseconds. */
  due_at: number | null;
  output: JsonObject | null;
  last_error: ReplyError | null;
  /** An operator's edited input (absent: the mapped input). */
  input?: JsonObject;
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
  /** `key:value` tags the transaction must all carry. */
  tag?: readonly string[];
  /** Paused (true) or not (false). */
  paused?: boolean;
}

/** What one decision writes: the transaction's new state, its history and its commands. */
export interface DecisionWrite {
  /** The transaction as loaded: its version is the condition of the write. */
  before: TransactionRecord;
  after: TransactionState;
  nextDueAt: number | null;
  events: readonly { event: HistoryEvent; at: number }[];
  messages: readonly OutgoingMessage[];
  /** Replies the decision ignored, added to the transaction's count. */
  ignoredReplies: number;
  /**
   * Whether the state changed. A decision that changed nothing (ignored replies, a timer
   * with nothing to do) leaves `updated_at`, the transaction's last progress, as it was.
   */
  changed: boolean;
}

/** An outbox row just committed, to publish now. */
export interface QueuedMessage extends OutgoingMessage {
  outboxId: string;
}

export interface WriteResult {
  /** Transactions written, with their version now; the others had changed since they were loaded. */
  written: Map<string, number>;
  /** The commands of the written decisions, as committed to the outbox. */
  queued: QueuedMessage[];
}

/** Position in the newest-first order: after (createdAt, id). */
export interface Cursor {
  createdAt: Date;
  id: string;
}

const SELECT_TRANSACTIONS = `SELECT id, definition_name, definition_version, type, status, paused, input, started_at, deadline,
  rollback, idempotency_key, started_by, traceparent, decision, created_at, updated_at, version, ignored_replies, tags, steps FROM transactions`;

/**
 * The history rows and outbox rows of the decisions whose transaction is in `written` (a CTE
 * of ids), and the ends among those history rows for the timing rollup (`ended`: a row only
 * when a transaction ends, in the statement that records it). Rows come as JSON arrays
 * (effectParams): one JSON.stringify in the coordinator instead of node-pg quoting each
 * element of a dozen arrays, and jsonb values nested, not quoted twice.
 */
const effectsCtes = (written: string, first: number) => `history AS (
    INSERT INTO events (tx_id, type, step_id, actor, data, at)
    SELECT e.* FROM jsonb_to_recordset($${first}::jsonb)
      AS e (tx_id uuid, type text, step_id text, actor text, data jsonb, at timestamptz)
    WHERE e.tx_id IN (SELECT id FROM ${written})
    RETURNING id, tx_id, type, data),
  ended AS (
    INSERT INTO ended_transactions (event_id, tx_id)
    SELECT id, tx_id FROM history
    WHERE type = 'transaction.status_changed' AND data ->> 'to' IN ('completed', 'compensated', 'failed')),
  queued AS (
    INSERT INTO outbox (topic, key, payload, headers)
    SELECT o.* FROM jsonb_to_recordset($${first + 1}::jsonb) AS o (topic text, key text, payload text, headers jsonb)
    WHERE o.key::uuid IN (SELECT id FROM ${written})
    RETURNING id, key, headers ->> '${HEADERS.messageId}' AS message_id)
  SELECT w.id, w.version, q.id AS outbox_id, q.message_id FROM ${written} w LEFT JOIN queued q ON q.key = w.id::text`;

/**
 * New transactions with their timers, history and commands, in one statement; a transaction
 * whose caller already used its idempotency key is not written (nor its timer, history or
 * commands). Rows are taken in key order, so two such statements cannot deadlock on keys.
 */
const INSERT: PreparedStatement = {
  name: 'ordo_tx_insert',
  text: `WITH starts AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS s (id uuid, definition_name text, definition_version int, type text, status text, input jsonb, started_at timestamptz,
        deadline timestamptz, rollback jsonb, idempotency_key text, traceparent text, created_at timestamptz, steps jsonb,
        started_by text, tags jsonb, due_at timestamptz, paused jsonb)
    ORDER BY idempotency_key),
  inserted AS (
    INSERT INTO transactions (id, definition_name, definition_version, type, status, input, started_at, deadline,
      rollback, idempotency_key, traceparent, created_at, updated_at, steps, started_by, tags, paused)
    SELECT id, definition_name, definition_version, type, status, input, started_at, deadline,
      rollback, idempotency_key, traceparent, created_at, created_at, steps, started_by, tags, paused FROM starts
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, version),
  due AS (
    INSERT INTO timers (tx_id, due_at)
    SELECT s.id, s.due_at FROM starts s JOIN inserted i ON i.id = s.id WHERE s.due_at IS NOT NULL),
  ${effectsCtes('inserted', 2)}`,
};

/**
 * The alerts of the decisions that failed their transaction, written with them (the CTE
 * `alerted`), so an alert exists exactly when its failure committed. Only a batch with such
 * a decision uses the statement that has it: the others pay nothing for alerts.
 */
const failedAlertsCte = (first: number) => `alerted AS (
    INSERT INTO alerts (kind, tx_id, definition_name, data)
    SELECT a.kind, a.tx_id, a.definition_name, a.data
    FROM jsonb_to_recordset($${first}::jsonb) AS a (kind text, tx_id uuid, definition_name text, data jsonb)
    WHERE a.tx_id IN (SELECT id FROM written)),`;

/**
 * The decisions of a batch in one statement: each transaction's row if its version is still
 * the one loaded (READ COMMITTED re-checks it on a row another writer just changed), its
 * timer, and the history and commands of the rows written. Rows are taken in id order, so
 * two such statements cannot deadlock. `t.id = ANY($1)` keeps the join on the primary key:
 * without it the planner at times joined the batch by reading all of `transactions` (the
 * table or its whole primary key), in the bench 2 to 3 times the buffers and time per call,
 * more as the table grows.
 */
const updateStatement = (alerting: boolean): PreparedStatement => ({
  name: alerting ? 'ordo_tx_update_alerting' : 'ordo_tx_update',
  text: `WITH c AS (
    SELECT * FROM jsonb_to_recordset($2::jsonb)
      AS c (id uuid, version int, status text, started_at timestamptz, deadline timestamptz, rollback jsonb, decision text,
        steps jsonb, due_at timestamptz, ignored int, changed boolean, paused jsonb)
    ORDER BY id),
  written AS (
    UPDATE transactions t SET version = t.version + 1, status = c.status, started_at = c.started_at,
      deadline = c.deadline, rollback = c.rollback, decision = c.decision, steps = c.steps, paused = c.paused,
      updated_at = CASE WHEN c.changed THEN now() ELSE t.updated_at END, ignored_replies = t.ignored_replies + c.ignored,
      finished_at = CASE WHEN c.status IN ('completed', 'compensated') THEN coalesce(t.finished_at, now()) END
    FROM c WHERE t.id = ANY($1::uuid[]) AND t.id = c.id AND t.version = c.version
    RETURNING t.id, t.version, c.due_at),
  due AS (
    INSERT INTO timers (tx_id, due_at) SELECT id, due_at FROM written WHERE due_at IS NOT NULL
    ON CONFLICT (tx_id) DO UPDATE SET due_at = excluded.due_at),
  idle AS (DELETE FROM timers WHERE tx_id IN (SELECT id FROM written WHERE due_at IS NULL)),
  ${alerting ? failedAlertsCte(3) : ''}
  ${effectsCtes('written', alerting ? 4 : 3)}`,
});
const UPDATE = updateStatement(false);
const UPDATE_ALERTING = updateStatement(true);

const LOAD: PreparedStatement = { name: 'ordo_tx_load', text: `${SELECT_TRANSACTIONS} WHERE id = ANY($1::uuid[])` };

/**
 * Takes up to $1 transactions whose timer is due by the database's clock, pushing their
 * timers $2 ms later so that other instances pass them by; the decision then sets the real
 * next due time. An instance that dies meanwhile leaves them due again after that lease.
 * Returns the database's time too: the claimed timers are decided at it, so what the
 * database found due is due for the decision as well, whatever this instance's clock says.
 */
const CLAIM_DUE: PreparedStatement = {
  name: 'ordo_timers_claim',
  text: `UPDATE timers SET due_at = now() + $2::int * interval '1 millisecond' WHERE tx_id IN (
    SELECT tx_id FROM timers WHERE due_at <= now() ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
  RETURNING tx_id, now() AS now`,
};

/**
 * Idempotency keys are their caller's: stored as `<caller>:<key>` (a key's name holds no
 * ':'), so the one unique index on idempotency_key keeps each caller's apart. Rows from
 * before callers were recorded hold the bare key and no caller: no caller matches them.
 */
const storedKey = (caller: string, key: string) => `${caller}:${key}`;

function callersKey(row: Pick<TransactionRow, 'idempotency_key' | 'started_by'>): string | null {
  const { idempotency_key: stored, started_by: caller } = row;
  return stored !== null && caller !== null ? stored.slice(caller.length + 1) : stored;
}

/** The 2PC decision a state holds; null for other protocols and before the decision. */
const decisionOfState = (state: TransactionState): TwoPcDecision | null => ('decision' in state ? (state as TwoPcState).decision : null);

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
    idempotencyKey: callersKey(row),
    startedBy: row.started_by,
    traceparent: row.traceparent,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    ignoredReplies: row.ignored_replies,
    tags: row.tags,
    layout: steps.map((s) => ({ id: s.step_id, participant: s.participant })),
    state: {
      // A 2PC state carries its global decision (see engine/twopc/README.md).
      ...(row.type === '2pc' ? { decision: row.decision } : {}),
      status: row.status,
      paused: row.paused,
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
            dueAt: s.due_at === null ? null : Number(s.due_at),
            output: s.output,
            lastError: s.last_error,
            ...(s.input && { input: s.input }),
          } satisfies StepState,
        ]),
      ),
    },
  };
}

/** A state's steps as stored: in layout order, each with its participant. */
function stepRows(layout: TransactionRecord['layout'], state: TransactionState): StepRow[] {
  return layout.map(({ id, participant }) => {
    const s = state.steps[id];
    return {
      step_id: id,
      participant,
      status: s.status,
      phase: s.phase,
      attempt: s.attempt,
      attempts_left: s.attemptsLeft,
      waiting_for: s.waitingFor,
      due_at: s.dueAt,
      output: s.output,
      last_error: s.lastError,
      ...(s.input && { input: s.input }),
    };
  });
}

/** The parameters of effectsCtes: history rows, then outbox rows, as JSON arrays. */
function effectParams(decisions: readonly DecisionWrite[]): string[] {
  const events = decisions.flatMap(({ before, events }) =>
    events.map(({ event, at }) => ({
      tx_id: before.id,
      type: event.type,
      step_id: 'stepId' in event ? event.stepId : null,
      actor: 'actor' in event ? event.actor : null,
      data: event,
      at: new Date(at),
    })),
  );
  const messages = decisions.flatMap((d) =>
    d.messages.map((m) => ({ topic: m.topic, key: m.key, payload: m.value.toString(), headers: m.headers ?? {} })),
  );
  return [JSON.stringify(events), JSON.stringify(messages)];
}

/** The written transactions of a write statement's result, and their commands with outbox ids. */
interface WrittenRow {
  id: string;
  version: number;
  outbox_id: string | null;
  message_id: string | null;
}

function writeResult(rows: WrittenRow[], messages: readonly OutgoingMessage[]): WriteResult {
  const byMessageId = new Map(messages.map((m) => [m.headers?.[HEADERS.messageId], m]));
  const queued: QueuedMessage[] = [];
  for (const row of rows) {
    const message = row.message_id === null ? undefined : byMessageId.get(row.message_id);
    if (row.outbox_id !== null && message) queued.push({ ...message, outboxId: row.outbox_id });
  }
  return { written: new Map(rows.map((row) => [row.id, row.version])), queued };
}

/**
 * All SQL about transactions and their history. Decisions are written by one statement
 * each (or one per batch), conditional on the version loaded: no row lock is held while
 * the engine decides, and a decision taken on a stale state is refused, not written.
 */
@Injectable()
export class TransactionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts new transactions with their effects; one whose caller's idempotency key is taken is not written. */
  insert(decisions: readonly DecisionWrite[]): Promise<WriteResult> {
    const starts = decisions.map(({ before, after, nextDueAt }) => ({
      id: before.id,
      definition_name: before.definitionName,
      definition_version: before.definitionVersion,
      type: before.type,
      status: after.status,
      input: before.input,
      started_at: date(after.startedAt),
      deadline: date(after.deadline),
      rollback: after.rollback,
      idempotency_key: before.idempotencyKey && storedKey(before.startedBy!, before.idempotencyKey),
      traceparent: before.traceparent,
      created_at: before.createdAt,
      steps: stepRows(before.layout, after),
      started_by: before.startedBy,
      tags: before.tags,
      due_at: date(nextDueAt),
      paused: after.paused,
    }));
    return this.writeWithEffects(INSERT, decisions, [JSON.stringify(starts)]);
  }

  /**
   * Writes decisions in one statement; a transaction changed since it was loaded is left out.
   * A decision that fails its transaction writes its alert too.
   */
  write(decisions: readonly DecisionWrite[]): Promise<WriteResult> {
    const rows = decisions.map(({ before, after, nextDueAt, ignoredReplies, changed }) => ({
      id: before.id,
      version: before.version,
      status: after.status,
      started_at: date(after.startedAt),
      deadline: date(after.deadline),
      rollback: after.rollback,
      decision: decisionOfState(after),
      steps: stepRows(before.layout, after),
      due_at: date(nextDueAt),
      ignored: ignoredReplies,
      changed,
      paused: after.paused,
    }));
    // Only the decision that makes a transaction failed alerts: later ones (a late reply) do not again.
    const alerts = decisions
      .filter((d) => d.after.status === 'failed' && d.before.state.status !== 'failed')
      .map((d) => failedAlert(d.before, d.after))
      .map((a) => ({ kind: a.kind, tx_id: a.txId, definition_name: a.definition, data: a.data }));
    const params = [rows.map((row) => row.id), JSON.stringify(rows)];
    return alerts.length === 0
      ? this.writeWithEffects(UPDATE, decisions, params)
      : this.writeWithEffects(UPDATE_ALERTING, decisions, [...params, JSON.stringify(alerts)]);
  }

  /** Runs a decisions statement: its own parameters, then the history and outbox rows (effectsCtes). */
  private async writeWithEffects(statement: PreparedStatement, decisions: readonly DecisionWrite[], params: unknown[]): Promise<WriteResult> {
    if (decisions.length === 0) return { written: new Map(), queued: [] };
    const rows = await runPrepared<WrittenRow>(this.dataSource, statement, [...params, ...effectParams(decisions)]);
    return writeResult(
      rows,
      decisions.flatMap((d) => d.messages),
    );
  }

  /** Transactions by id, as they are now (no lock: a write checks the version). */
  async load(ids: readonly string[]): Promise<Map<string, TransactionRecord>> {
    if (ids.length === 0) return new Map();
    const rows = await runPrepared<TransactionRow>(this.dataSource, LOAD, [ids]);
    return new Map(rows.map((row) => [row.id, toRecord(row)]));
  }

  /** Takes the transactions whose timer is due, with the database's time (null when none); see CLAIM_DUE. */
  async claimDue(limit: number, leaseMs: number): Promise<{ ids: string[]; now: number | null }> {
    const rows = await runPrepared<{ tx_id: string; now: Date }>(this.dataSource, CLAIM_DUE, [limit, leaseMs]);
    return { ids: rows.map((row) => row.tx_id), now: rows.length > 0 ? rows[0].now.getTime() : null };
  }

  /** Transactions with their steps; `tail` is everything after FROM. */
  private async find(tail: string, params: unknown[]): Promise<TransactionRecord[]> {
    const rows: TransactionRow[] = await this.dataSource.query(`${SELECT_TRANSACTIONS} ${tail}`, params);
    return rows.map(toRecord);
  }

  /**
   * Commands awaiting a reply, by participant: of the given participants, or of all. Reads
   * the steps of live transactions only (partial index transactions_live), by a plain index
   * scan: a bitmap scan (what the planner picks) leaves the entries of ended transactions in
   * the index until vacuum, so under load each count re-read tens of thousands of them
   * (measured: 60-200 ms a count at 300 sagas/s), where an index scan marks each dead once
   * and passes it by after. No parallel workers for a few hundred rows either.
   */
  async countAwaitingReply(participants: readonly string[] | null): Promise<Map<string, number>> {
    const rows = await this.dataSource.transaction(async (manager): Promise<{ participant: string; count: number }[]> => {
      await manager.query(`SELECT set_config('enable_bitmapscan', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`);
      return manager.query(
        `SELECT s ->> 'participant' AS participant, count(*)::int AS count
         FROM transactions t CROSS JOIN jsonb_array_elements(t.steps) s
         WHERE t.status IN ('running', 'compensating') AND s ->> 'waiting_for' = 'reply'
           AND ($1::text[] IS NULL OR s ->> 'participant' = ANY($1))
         GROUP BY 1`,
        [participants],
      );
    });
    return new Map(rows.map((row) => [row.participant, row.count]));
  }

  async findById(id: string): Promise<TransactionRecord | null> {
    return (await this.find('WHERE id = $1', [id]))[0] ?? null;
  }

  /** The transaction `caller` started with this idempotency key. */
  async findByIdempotencyKey(caller: string, key: string): Promise<TransactionRecord | null> {
    return (await this.find('WHERE idempotency_key = $1', [storedKey(caller, key)]))[0] ?? null;
  }

  /** Newest first, keyset-paginated: the page after `cursor`, `limit` rows at most. */
  async list(filter: ListFilter, limit: number, cursor?: Cursor): Promise<TransactionRecord[]> {
    const { text, params } = listQuery(filter, limit, cursor);
    const rows: TransactionRow[] = await this.dataSource.query(text, params);
    return rows.map(toRecord);
  }

  /** Ids of transactions matching the filter, oldest first. */
  async idsMatching(filter: ListFilter, limit: number): Promise<string[]> {
    return (await this.oldestMatching(filter, limit)).map((r) => r.id);
  }

  /** Up to `limit` transactions matching the filter after `after`, oldest first: where each stands in that order. */
  async oldestMatching(filter: ListFilter, limit: number, after?: Cursor): Promise<Cursor[]> {
    const { clause, params } = whereClause(filter);
    const position = after ? `${clause ? `${clause} AND` : 'WHERE'} (created_at, id) > ($${params.length + 1}, $${params.length + 2}::uuid)` : clause;
    const rows: { id: string; created_at: Date }[] = await this.dataSource.query(
      `SELECT id, created_at FROM transactions ${position} ORDER BY created_at, id LIMIT $${params.length + (after ? 3 : 1)}`,
      [...params, ...(after ? [after.createdAt, after.id] : []), limit],
    );
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at }));
  }

  /** How many transactions match the filter, counting up to `max`. */
  async countMatching(filter: ListFilter, max: number): Promise<number> {
    const { clause, params } = whereClause(filter);
    const [row]: { count: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS count FROM (SELECT 1 FROM transactions ${clause} LIMIT $${params.length + 1}) m`,
      [...params, max],
    );
    return row.count;
  }

  /** Transactions paused waiting for this participant, oldest first (partial index transactions_paused). */
  async idsPausedFor(participant: string, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM transactions WHERE paused IS NOT NULL AND paused -> 'participants' ? $1 ORDER BY created_at LIMIT $2`,
      [participant, limit],
    );
    return rows.map((r) => r.id);
  }

  /** Transactions paused waiting for a participant that is paused no more (a resume that did not reach them). */
  async pausedForResumed(limit: number): Promise<{ id: string; participant: string }[]> {
    return this.dataSource.query(
      `SELECT t.id, p.participant FROM transactions t CROSS JOIN jsonb_array_elements_text(t.paused -> 'participants') AS p (participant)
       WHERE t.paused IS NOT NULL AND NOT EXISTS (SELECT 1 FROM paused_participants pp WHERE pp.participant = p.participant)
       ORDER BY t.created_at LIMIT $1`,
      [limit],
    );
  }

  /** Up to `limit` history rows of a transaction after event `after` (from the start without), oldest first. */
  async events(txId: string, limit: number, after?: string): Promise<EventRow[]> {
    const rows: { id: string; type: string; step_id: string | null; actor: string | null; data: HistoryEvent; at: Date }[] =
      await this.dataSource.query('SELECT id, type, step_id, actor, data, at FROM events WHERE tx_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
        txId,
        after ?? '0',
        limit,
      ]);
    return rows.map((r) => ({ id: r.id, type: r.type, stepId: r.step_id, actor: r.actor, data: r.data, at: r.at }));
  }
}

/** The list's statement: newest first, `limit` rows after `cursor`. */
export function listQuery(filter: ListFilter, limit: number, cursor?: Cursor): { text: string; params: unknown[] } {
  const { clause, params } = whereClause(filter, cursor);
  return { text: `${SELECT_TRANSACTIONS} ${clause} ORDER BY created_at DESC, id DESC LIMIT $${params.length + 1}`, params: [...params, limit] };
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
  // One containment per tag (not one object of all): two values of one key then match nothing, as AND says.
  for (const tag of filter.tag ?? []) add((p) => `tags @> ${p}::jsonb`, JSON.stringify(tagOfFilter(tag)));
  if (filter.paused !== undefined) conditions.push(filter.paused ? 'paused IS NOT NULL' : 'paused IS NULL');
  if (cursor) {
    params.push(cursor.createdAt, cursor.id);
    conditions.push(`(created_at, id) < ($${params.length - 1}, $${params.length}::uuid)`);
  }
  return { clause: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', params };
}
