import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { activeTraceparent, GroupCommit, inSpan, OutgoingMessage, SpanKind } from '@ordo/platform';
import { HEADERS, JsonObject, Reply, topicNames } from '@ordo/protocol';
import { ApiError } from '@ordo/platform';
import { CoordinatorConfig } from '../config/coordinator.config';
import { DecideContext, Decision, Effect, Gate, ResolvedDefinition, TransactionEvent, TransactionState, toCommand } from '../engine';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics';
import { OutboxRelay } from '../outbox/outbox-relay';
import { DefinitionCatalog, PinnedDefinition } from './definition-catalog';
import { RecentTransactions } from './persistence/recent-transactions';
import { TransactionRecord } from './persistence/transaction-record';
import { DecisionWrite, TransactionRepository, WriteResult } from './persistence/transaction.repository';
import { capIgnoredReplies } from './ignored-replies';
import { GateBatch, ParticipantGate } from './protection/participant-gate';
import { ReplyTimeTracker } from './protection/reply-time-tracker';
import { machineFor } from './protocol-machines';
import { ReplyTokens, TOKEN_LENGTH } from './reply-tokens';
import { TransactionWaiters } from './transaction-waiters';
import { Tags } from './tags';

interface Applied {
  record: TransactionRecord;
  definition: ResolvedDefinition;
  state: TransactionState;
  effects: readonly Effect[];
  now: number;
}

export interface StartRequest {
  definition: PinnedDefinition;
  input: JsonObject;
  idempotencyKey: string | null;
  tags: Tags | null;
  /** The API key starting it: recorded, and the owner of its idempotency key. */
  actor: string;
  traceparent?: string;
}

/** A transaction to start, built from its request (under the request's span). */
interface NewTransaction {
  record: TransactionRecord;
  definition: ResolvedDefinition;
  actor: string;
}

/** Starts written in one statement at most (each input is at most MAX_INPUT_BYTES). */
const MAX_STARTS_PER_STATEMENT = 64;

/** How often a batch is decided again on fresh states when another writer changed some first. */
const MAX_CONFLICT_ROUNDS = 5;

/** What a command's token adds to its JSON. */
const TOKEN_FIELD_BYTES = `,"token":"${'x'.repeat(TOKEN_LENGTH)}"`.length;

/** How long a claimed timer is hidden from other instances while its decision is taken. */
const TIMER_LEASE_MS = 5_000;

/**
 * The imperative shell around the pure state machines: loads transactions (from memory when
 * this instance knows their latest version), asks the machine what to do (with the
 * participant gate's say on every command), and writes the new state, its history and its
 * commands (outbox) in one statement, conditional on the version it loaded; then publishes
 * those commands at once. A decision that lost the race to
 * another writer is taken again on the new state.
 */
@Injectable()
export class TransactionEngine {
  private readonly logger = new Logger(TransactionEngine.name);
  private readonly topics;
  private readonly crashAfterCommitDecision: boolean;
  private readonly recent: RecentTransactions;
  /** Commands larger than this are never written (participants and the broker would refuse them). */
  private readonly maxCommandBytes: number;
  /**
   * Starts that arrive while others are being written go in the next statement together:
   * under load one statement and commit serve many starts, and a lone start waits for none.
   */
  private readonly starts = new GroupCommit<NewTransaction, TransactionState | null>((starts) => this.insertStarts(starts), {
    max: MAX_STARTS_PER_STATEMENT,
  });

  constructor(
    private readonly repository: TransactionRepository,
    private readonly relay: OutboxRelay,
    private readonly catalog: DefinitionCatalog,
    private readonly gate: ParticipantGate,
    private readonly metrics: CoordinatorMetrics,
    private readonly tokens: ReplyTokens,
    private readonly waiters: TransactionWaiters,
    private readonly replyTimes: ReplyTimeTracker,
    config: CoordinatorConfig,
  ) {
    this.topics = topicNames(config.KAFKA_TOPIC_PREFIX);
    this.crashAfterCommitDecision = config.FAULT_CRASH === 'after-commit-decision';
    this.recent = new RecentTransactions(config.RECENT_TRANSACTIONS_MB * 1024 * 1024);
    // The engine measures commands without the token the shell adds.
    this.maxCommandBytes = config.MAX_MESSAGE_BYTES - TOKEN_FIELD_BYTES;
  }

  /** Starts a transaction, or returns the one its caller already started with the same idempotency key. */
  start(request: StartRequest): Promise<{ record: TransactionRecord; created: boolean }> {
    const attributes = { 'ordo.definition': request.definition.name, 'ordo.definition_version': request.definition.version };
    return inSpan('ordo.transaction.start', { kind: SpanKind.INTERNAL, attributes }, async (span) => {
      const started = await this.startInSpan(request);
      span.setAttribute('ordo.tx_id', started.record.id);
      return started;
    });
  }

  private async startInSpan(request: StartRequest): Promise<{ record: TransactionRecord; created: boolean }> {
    const { definition } = request;
    const machine = machineFor(definition.resolved.type);
    const now = Date.now();
    const record: TransactionRecord = {
      id: randomUUID(),
      definitionName: definition.name,
      definitionVersion: definition.version,
      type: definition.resolved.type,
      input: request.input,
      idempotencyKey: request.idempotencyKey,
      startedBy: request.actor,
      // Every command of the transaction carries it: the start span when tracing is on, so
      // all of them join this trace; else the caller's traceparent, passed through.
      traceparent: activeTraceparent(request.traceparent) ?? null,
      createdAt: new Date(now),
      updatedAt: new Date(now),
      version: 0,
      ignoredReplies: 0,
      tags: request.tags,
      layout: definition.resolved.steps.map((s) => ({ id: s.id, participant: s.participant })),
      state: machine.initial(definition.resolved),
    };
    const state = await this.starts.submit({ record, definition: definition.resolved, actor: request.actor });
    if (state) return { record: { ...record, state }, created: true };
    const existing = await this.repository.findByIdempotencyKey(request.actor, request.idempotencyKey!);
    return { record: existing!, created: false };
  }

  /**
   * Writes new transactions in one statement, with one gate; the state of each written, or
   * null where its caller's idempotency key was taken.
   */
  private async insertStarts(starts: NewTransaction[]): Promise<(TransactionState | null)[]> {
    const written = await this.commit(
      async (batch) => {
        const gate = await batch.gate(participantsOf(starts.map((s) => s.record)), Date.now());
        return starts.map(({ record, definition, actor }) => {
          const now = record.createdAt.getTime();
          const decision = machineFor(definition.type).decide(
            record.state,
            { type: 'started', actor },
            this.context(definition, record.input, now, gate),
          );
          if (!decision.accepted) throw new Error(`the start of a transaction was refused: ${decision.rejection.message}`);
          return { record, definition, state: decision.state, effects: decision.effects, now };
        });
      },
      (writes) => this.repository.insert(writes),
    );
    const states = new Map(written.map((applied) => [applied.record.id, applied.state]));
    return starts.map((s) => states.get(s.record.id) ?? null);
  }

  /** Applies an operator's event; a refusal becomes a 404 or 409 and changes nothing. */
  async applyOperator(txId: string, event: TransactionEvent): Promise<TransactionRecord> {
    for (let round = 0; round < MAX_CONFLICT_ROUNDS; round++) {
      const [written] = await this.commit(
        async (batch) => {
          const record = (await this.load([txId])).get(txId);
          if (!record) throw new ApiError(HttpStatus.NOT_FOUND, 'TRANSACTION_NOT_FOUND', `no transaction ${txId}`);
          const now = Date.now();
          const gate = await batch.gate(participantsOf([record]), now);
          const applied = await this.decide(record, event, now, gate);
          if ('rejection' in applied) {
            const { code, message } = applied.rejection;
            const status = code === 'unknown_step' ? HttpStatus.NOT_FOUND : HttpStatus.CONFLICT;
            throw new ApiError(status, code.toUpperCase(), message);
          }
          return [applied];
        },
        (writes) => this.repository.write(writes),
      );
      if (written) return { ...written.record, state: written.state };
    }
    throw new ApiError(HttpStatus.CONFLICT, 'CONCURRENT_CHANGE', `transaction ${txId} kept changing; try again`);
  }

  /**
   * Applies many replies, written in one statement. Returns the replies whose transaction
   * does not exist (the caller dead-letters them).
   */
  async applyReplies(replies: Reply[]): Promise<Reply[]> {
    const unknown = replies.filter((reply) => !isUuid(reply.txId));
    let pending = replies.filter((reply) => isUuid(reply.txId));
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_CONFLICT_ROUNDS) throw new Error(`replies to ${pending.length} transactions kept meeting concurrent changes`);
      const records = await this.load([...new Set(pending.map((r) => r.txId))]);
      let decided = new Set<string>();
      const written = await this.commit(
        async (batch) => {
          const now = Date.now();
          const gate = await batch.gate(participantsOf(records.values()), now);
          const applied = new Map<string, Applied>();
          for (const reply of pending) {
            const record = records.get(reply.txId);
            if (!record) continue;
            // Several replies to one transaction fold: each decision starts from the last state.
            const previous = applied.get(record.id);
            const { txId: _, ...stepReply } = reply;
            const decision = await this.decide({ ...record, state: previous?.state ?? record.state }, { type: 'reply', ...stepReply }, now, gate);
            if ('rejection' in decision) continue;
            applied.set(record.id, { ...decision, record, effects: [...(previous?.effects ?? []), ...decision.effects] });
          }
          decided = new Set(applied.keys());
          return [...applied.values()];
        },
        (writes) => this.repository.write(writes),
      );
      if (round === 0) unknown.push(...pending.filter((reply) => !records.has(reply.txId)));
      const settled = new Set(written.map((a) => a.record.id));
      // A decision that lost the race to another writer is taken again on the new state;
      // replies the machine ignored need nothing more.
      pending = pending.filter((reply) => decided.has(reply.txId) && !settled.has(reply.txId));
    }
    return unknown;
  }

  /**
   * Fires the timers of up to `limit` due transactions, deciding them at the database's
   * time of the claim (one clock for every instance); returns how many were claimed.
   */
  async fireDueTimers(limit: number): Promise<number> {
    const { ids, now } = await this.repository.claimDue(limit, TIMER_LEASE_MS);
    if (now === null) return 0;
    const records = await this.load(ids);
    // A transaction whose decision lost to another writer's has its timer set by that writer.
    await this.commit(
      async (batch) => {
        const gate = await batch.gate(participantsOf(records.values()), now);
        const applied: Applied[] = [];
        for (const record of records.values()) {
          const decision = await this.decide(record, { type: 'timer' }, now, gate);
          // Even a refused timer is written back unchanged: that sets its timer again.
          applied.push('rejection' in decision ? { record, definition: decision.definition, state: record.state, effects: [], now } : decision);
        }
        return applied;
      },
      (writes) => this.repository.write(writes),
    );
    return ids.length;
  }

  /**
   * Decides with one gate, writes the decisions (`write` returns null when it wrote none),
   * then publishes the commands committed. Returns the decisions written. Once the write has
   * ended, the gate counts the commands committed and learns from the replies and timeouts
   * applied, or forgets everything it admitted for decisions not written.
   */
  private async commit(
    decide: (batch: GateBatch) => Promise<Applied[]>,
    write: (writes: DecisionWrite[]) => Promise<WriteResult | null>,
  ): Promise<Applied[]> {
    const batch = this.gate.begin();
    let written: Applied[] | null = null;
    try {
      const applied = await decide(batch);
      if (applied.length === 0) return (written = []);
      const writes = applied.map((a) => this.toWrite(a));
      const result = await write(writes);
      written = result ? applied.filter((a) => result.written.has(a.record.id)) : [];
      const after: TransactionRecord[] = [];
      applied.forEach(({ record, now }, i) => {
        const version = result?.written.get(record.id);
        if (version === undefined) this.recent.forget(record.id);
        else after.push(asWritten(writes[i], version, now));
      });
      after.forEach((record) => this.recent.put(record));
      // Waiters here learn of the ends at once; those on other instances, from the change feed.
      this.waiters.committed(after);
      this.metrics.committed(written);
      this.replyTimes.committed(written);
      this.warnOperatorNeeded(written);
      if (this.crashAfterCommitDecision && written.some(decidedCommit)) crashAfterDecision();
      if (result) this.relay.dispatch(result.queued);
      return written;
    } finally {
      batch.end(written?.map(({ record, effects }) => ({ layout: record.layout, effects })) ?? null);
    }
  }

  /** Transactions by id: as this instance last knew them when it can, else read. */
  private async load(ids: readonly string[]): Promise<Map<string, TransactionRecord>> {
    const found = new Map<string, TransactionRecord>();
    const missing: string[] = [];
    for (const id of ids) {
      const known = this.recent.get(id);
      if (known) found.set(id, known);
      else missing.push(id);
    }
    for (const [id, record] of await this.repository.load(missing)) {
      found.set(id, record);
      this.recent.put(record);
    }
    return found;
  }

  /** A step or transaction that now waits for an operator is worth a line an alert can match. */
  private warnOperatorNeeded(applied: Applied[]): void {
    for (const { record, effects } of applied) {
      for (const effect of effects) {
        if (effect.kind !== 'record') continue;
        const { event } = effect;
        const txId = record.id;
        if (event.type === 'step.status_changed' && event.to === 'compensation_failed') {
          this.logger.warn({ txId, stepId: event.stepId, msg: `step ${event.stepId} of ${txId} ran out of attempts in a phase that must succeed` });
        } else if (event.type === 'transaction.status_changed' && event.to === 'failed') {
          this.logger.warn({ txId, definition: record.definitionName, msg: `transaction ${txId} failed: an operator must resolve or retry it` });
        }
      }
    }
  }

  /** The machine's decision as an applied one, or its refusal (with the definition, for a write-back). */
  private async decide(
    record: TransactionRecord,
    event: TransactionEvent,
    now: number,
    gate: Gate,
  ): Promise<Applied | { rejection: Extract<Decision<TransactionState>, { accepted: false }>['rejection']; definition: ResolvedDefinition }> {
    const definition = (await this.catalog.get(record.definitionName, record.definitionVersion)).resolved;
    const decision = machineFor(record.type).decide(record.state, event, this.context(definition, record.input, now, gate));
    if (!decision.accepted) return { rejection: decision.rejection, definition };
    return { record, definition, state: decision.state, effects: decision.effects, now };
  }

  private context(definition: ResolvedDefinition, input: JsonObject, now: number, gate: Gate): DecideContext {
    return { definition, input, now, random: Math.random, gate, replyTimes: this.replyTimes, maxCommandBytes: this.maxCommandBytes };
  }

  /** A decision as the repository writes it: the new state, its history rows and its commands. */
  private toWrite({ record, definition, state, effects, now }: Applied): DecisionWrite {
    const events: DecisionWrite['events'][number][] = [];
    const messages: OutgoingMessage[] = [];
    for (const effect of effects) {
      if (effect.kind === 'record') {
        events.push({ event: effect.event, at: now });
        continue;
      }
      messages.push({
        topic: this.topics.commands(effect.participant),
        key: record.id,
        value: JSON.stringify({ ...toCommand(record.id, record.type, effect), token: this.tokens.sign({ txId: record.id, ...effect }) }),
        headers: {
          [HEADERS.messageId]: `${record.id}/${effect.stepId}/${effect.phase}/${effect.attempt}`,
          ...(record.traceparent ? { [HEADERS.traceparent]: record.traceparent } : {}),
        },
      });
    }
    const { kept, ignored } = capIgnoredReplies(events, record.ignoredReplies);
    return {
      before: record,
      after: state,
      nextDueAt: machineFor(record.type).nextDueAt(state, definition),
      events: kept,
      messages,
      ignoredReplies: ignored,
      // The machines return the very state they were given when nothing changed.
      changed: state !== record.state,
    };
  }
}

/** The transaction as a write of `decision` left it, for RecentTransactions. */
function asWritten({ before, after, ignoredReplies, changed }: DecisionWrite, version: number, now: number): TransactionRecord {
  return {
    ...before,
    version,
    state: after,
    updatedAt: changed ? new Date(now) : before.updatedAt,
    ignoredReplies: before.ignoredReplies + ignoredReplies,
  };
}

const decidedCommit = ({ effects }: Applied) =>
  effects.some((e) => e.kind === 'record' && e.event.type === 'transaction.decided' && e.event.decision === 'commit');

/** FAULT_CRASH=after-commit-decision: exits before the decision's commands are published (synchronously, so no I/O callback runs first). */
function crashAfterDecision(): never {
  process.stderr.write('[coordinator] crashing right after a commit decision, as FAULT_CRASH asks\n');
  process.exit(137);
}

/** Every participant the transactions' steps may send a command to. */
function participantsOf(records: Iterable<TransactionRecord>): Set<string> {
  return new Set([...records].flatMap((record) => record.layout.map((step) => step.participant)));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Replies naming a non-UUID transaction cannot match one; filtering them spares a cast error. */
function isUuid(id: string): boolean {
  return UUID.test(id);
}
