import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError, decodeCursor, encodeCursor } from '@ordo/platform';
import { CoordinatorConfig } from '../config/coordinator.config';
import { findStep, hasEnded, OperatorEvent, stepInput, timelineOf } from '../engine';
import { DefinitionCatalog } from './definition-catalog';
import {
  BulkFilterDto,
  BulkNoteDto,
  EditInputDto,
  EventsQuery,
  ListTransactionsQuery,
  ResolveStepDto,
  SetAttemptsDto,
  SkipStepDto,
  StartTransactionDto,
} from './dto/transaction-requests.dto';
import { DecisionView, EventPage, EventView, StepInputView, TransactionPage, TransactionView } from './dto/transaction-views.dto';
import { TimelineView } from './dto/timeline-view.dto';
import { checkInputSize } from './input-limit';
import { TransactionRecord } from './persistence/transaction-record';
import { Cursor, TransactionRepository } from './persistence/transaction.repository';
import { TransactionEngine } from './transaction-engine';
import { EndedRecord, TransactionWaiters } from './transaction-waiters';
import { Waiter } from './waiter-registry';

/** History events a timeline reads at most: enough for any transaction short of a pathological one. */
export const TIMELINE_MAX_EVENTS = 10_000;

/** How long a caller refused for MAX_WAITERS should wait before asking again: waits are short, slots come back soon. */
export const WAITERS_RETRY_AFTER_S = 1;

/** 503 TOO_MANY_WAITERS: MAX_WAITERS callers already wait here (the answer carries Retry-After). */
export class TooManyWaiters extends ApiError {
  constructor(max: number) {
    super(
      HttpStatus.SERVICE_UNAVAILABLE,
      'TOO_MANY_WAITERS',
      `${max} callers already wait for transactions here; retry in ${WAITERS_RETRY_AFTER_S} s or without waitMs`,
    );
  }
}

/** A caller's wish to wait for the end: at most `ms`, given up when `signal` aborts (the client went away). */
export interface WaitRequest {
  ms: number;
  signal: AbortSignal;
}

/** A transaction as answered, and whether it had ended by then. */
export interface Answer {
  view: TransactionView;
  ended: boolean;
}

/** A position in the transactions list: after (createdAt, id), newest first. */
function listPosition([createdAt, id]: unknown[]): Cursor | undefined {
  const date = new Date(String(createdAt));
  return Number.isNaN(date.getTime()) || typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id) ? undefined : { createdAt: date, id };
}

/** A position in a history: after the event of this id. */
const historyPosition = ([id]: unknown[]) => (typeof id === 'string' && /^\d{1,18}$/.test(id) ? id : undefined);

/** The transactions API: starting, reading and operator actions. */
@Injectable()
export class TransactionsService {
  constructor(
    private readonly engine: TransactionEngine,
    private readonly repository: TransactionRepository,
    private readonly catalog: DefinitionCatalog,
    private readonly config: CoordinatorConfig,
    private readonly waiters: TransactionWaiters,
  ) {}

  /** Starts a transaction; with `wait`, answers when it ends or the wait is over, whichever comes first. */
  async start(body: StartTransactionDto, actor: string, traceparent?: string, wait?: WaitRequest): Promise<Answer & { created: boolean }> {
    checkInputSize(body.input, this.config.MAX_INPUT_BYTES);
    // Taken before the start, so that a caller refused a wait has started nothing.
    const waiter = wait && this.takeWaiter(wait);
    try {
      const definition = await this.catalog.get(body.definition, body.version);
      const listening = this.waiters.listening;
      const { record, created } = await this.engine.start({
        definition,
        input: body.input,
        idempotencyKey: body.idempotencyKey ?? null,
        // No tags are stored as none (null), not as {}: the tags index then leaves the row out.
        tags: body.tags && Object.keys(body.tags).length > 0 ? body.tags : null,
        actor,
        traceparent,
      });
      // Started after the feed's starting point, its end cannot be missed: no read needed.
      const final = waiter ? await this.untilEnded(waiter, record.id, listening ? record : undefined) : record;
      return { view: TransactionView.of(final), ended: hasEnded(final.state.status), created };
    } finally {
      waiter?.cancel();
    }
  }

  /** A transaction; with `wait`, as soon as it has ended, or as it is when the wait is over. */
  async get(id: string, wait?: WaitRequest): Promise<Answer> {
    const waiter = wait && this.takeWaiter(wait);
    try {
      const record = waiter ? await this.untilEnded(waiter, id) : await this.find(id);
      return { view: TransactionView.of(record), ended: hasEnded(record.state.status) };
    } finally {
      waiter?.cancel();
    }
  }

  private takeWaiter({ ms, signal }: WaitRequest): Waiter<EndedRecord> {
    if (ms > this.config.WAIT_MAX_MS) {
      const message = `waitMs must not be greater than ${this.config.WAIT_MAX_MS} (WAIT_MAX_MS)`;
      throw new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', `waitMs: ${message}`, [{ path: 'waitMs', message }]);
    }
    const waiter = this.waiters.take(ms, signal);
    if (!waiter) throw new TooManyWaiters(this.config.MAX_WAITERS);
    return waiter;
  }

  /**
   * `id`'s transaction once it has ended, or as it is when the wait is over. `current` is
   * its state as just written or read, given when no end after it can be missed (the feed
   * was already listening). Otherwise it is read once the feed has its starting point: an
   * end committed before then reaches no waiter.
   */
  private async untilEnded(waiter: Waiter<EndedRecord>, id: string, current?: TransactionRecord): Promise<TransactionRecord> {
    waiter.watch(id);
    let record = current;
    if (!record) {
      await Promise.race([this.waiters.ready, waiter.outcome]);
      record = await this.find(id);
    }
    if (hasEnded(record.state.status)) return record;
    const outcome = await waiter.outcome;
    // Woken by this instance's own decision: that is the record. Otherwise it changed since: read it.
    return outcome.kind === 'ended' && outcome.value ? outcome.value : this.find(id);
  }

  async decision(id: string): Promise<DecisionView> {
    return DecisionView.of(await this.find(id));
  }

  private async find(id: string): Promise<TransactionRecord> {
    const record = await this.repository.findById(id);
    // Participants in doubt presume abort on this code (and on no other 404).
    if (!record) throw new ApiError(HttpStatus.NOT_FOUND, 'TRANSACTION_NOT_FOUND', `no transaction ${id}`);
    return record;
  }

  async list(query: ListTransactionsQuery): Promise<TransactionPage> {
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, listPosition);
    // One extra row tells whether another page follows.
    const records = await this.repository.list(query, query.limit + 1, cursor);
    const items = records.slice(0, query.limit).map(TransactionView.of);
    const last = items[items.length - 1];
    return { items, nextCursor: records.length > query.limit ? encodeCursor([last.createdAt, last.id]) : null };
  }

  /** A page of a transaction's history, oldest first (keyset on the event id). */
  async events(id: string, query: EventsQuery): Promise<EventPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, historyPosition);
    const rows = await this.repository.events(id, query.limit + 1, after);
    // Every transaction has a history: an empty page is past its end, or no transaction.
    if (rows.length === 0) await this.get(id);
    const items = rows.slice(0, query.limit).map(EventView.of);
    return { items, nextCursor: rows.length > query.limit ? encodeCursor([items[items.length - 1].id]) : null };
  }

  /** The transaction's waterfall: its first TIMELINE_MAX_EVENTS history events as spans per step phase. */
  async timeline(id: string): Promise<TimelineView> {
    const rows = await this.repository.events(id, TIMELINE_MAX_EVENTS + 1);
    if (rows.length === 0) await this.get(id);
    const history = rows.slice(0, TIMELINE_MAX_EVENTS).map((r) => ({ at: r.at.getTime(), event: r.data }));
    return TimelineView.of(timelineOf(history), rows.length > TIMELINE_MAX_EVENTS);
  }

  async abort(id: string, actor: string, reason?: string) {
    return this.apply(id, { type: 'abort', actor, reason });
  }

  async retry(id: string, actor: string) {
    return this.apply(id, { type: 'retry', actor });
  }

  async resolve(id: string, stepId: string, body: ResolveStepDto, actor: string) {
    return this.apply(id, { type: 'resolve', actor, stepId, outcome: body.outcome, note: body.note });
  }

  async pause(id: string, actor: string, note?: string) {
    return this.apply(id, { type: 'pause', actor, note });
  }

  async resume(id: string, actor: string, note?: string) {
    return this.apply(id, { type: 'resume', actor, note });
  }

  async retryNow(id: string, stepId: string, actor: string, note?: string) {
    return this.apply(id, { type: 'retry_now', actor, stepId, note });
  }

  async setAttempts(id: string, stepId: string, { attemptsLeft, note }: SetAttemptsDto, actor: string) {
    return this.apply(id, { type: 'set_attempts', actor, stepId, attemptsLeft, note });
  }

  async skip(id: string, stepId: string, { output, note }: SkipStepDto, actor: string) {
    // Dependents' commands carry it: bounded as a transaction's input is.
    if (output) checkInputSize(output, this.config.MAX_INPUT_BYTES);
    return this.apply(id, { type: 'skip', actor, stepId, output: output ?? null, note });
  }

  /** What the step's next command carries: the input an operator set, or the mapped one. */
  async stepInput(id: string, stepId: string): Promise<StepInputView> {
    const record = await this.find(id);
    const step = findStep(record.state, stepId);
    if (!step) throw new ApiError(HttpStatus.NOT_FOUND, 'UNKNOWN_STEP', `no step ${stepId}`);
    const { resolved: definition } = await this.catalog.get(record.definitionName, record.definitionVersion);
    return { input: stepInput(record.state, stepId, { definition, input: record.input }), edited: step.input !== undefined };
  }

  async editInput(id: string, stepId: string, { input, note }: EditInputDto, actor: string) {
    // Every later command of the step carries it: bounded as a transaction's input is.
    checkInputSize(input, this.config.MAX_INPUT_BYTES);
    return this.apply(id, { type: 'edit_input', actor, stepId, input, note });
  }

  async failStep(id: string, stepId: string, note: string, actor: string) {
    return this.apply(id, { type: 'fail_step', actor, stepId, note });
  }

  private async apply(id: string, event: OperatorEvent): Promise<TransactionView> {
    return TransactionView.of(await this.engine.applyOperator(id, event));
  }

  /** Replays failed transactions matching the filter, oldest first; returns how many. */
  async bulkRetry(filter: BulkFilterDto, actor: string): Promise<number> {
    return this.applyToEach(await this.repository.idsMatching({ ...filter, status: 'failed' }, filter.limit), { type: 'retry', actor });
  }

  /** Pauses running transactions matching the filter, oldest first; returns how many. */
  async bulkPause({ note, ...filter }: BulkNoteDto, actor: string): Promise<number> {
    const ids = await this.repository.idsMatching({ ...filter, status: 'running', paused: false }, filter.limit);
    return this.applyToEach(ids, { type: 'pause', actor, note });
  }

  /** Resumes paused transactions matching the filter, oldest first; returns how many. */
  async bulkResume({ note, ...filter }: BulkNoteDto, actor: string): Promise<number> {
    return this.applyToEach(await this.repository.idsMatching({ ...filter, paused: true }, filter.limit), { type: 'resume', actor, note });
  }

  /**
   * Applies the event to each transaction in turn; returns how many accepted it. One that
   * changed meanwhile so that the event no longer applies (another operator) is refused
   * and not counted.
   */
  async applyToEach(ids: readonly string[], event: OperatorEvent): Promise<number> {
    let applied = 0;
    for (const id of ids) {
      applied += await this.engine.applyOperator(id, event).then(
        () => 1,
        (error: unknown) => {
          if (error instanceof ApiError && (error.getStatus() as HttpStatus) === HttpStatus.CONFLICT) return 0;
          throw error;
        },
      );
    }
    return applied;
  }
}
