import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { activeTraceparent, inSpan, OutgoingMessage, SpanKind } from '@ordo/platform';
import { HEADERS, JsonObject, Reply, topicNames } from '@ordo/protocol';
import { ApiError } from '@ordo/platform';
import { CoordinatorConfig } from '../config/coordinator.config';
import {
  DecideContext,
  Decision,
  Effect,
  Gate,
  HistoryEvent,
  ResolvedDefinition,
  TransactionEvent,
  TransactionState,
  toCommand,
} from '../engine';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics';
import { OutboxWriter } from '../outbox/outbox-writer';
import { DefinitionCatalog, PinnedDefinition } from './definition-catalog';
import { TransactionRecord } from './persistence/transaction-record';
import { TransactionRepository } from './persistence/transaction.repository';
import { GateBatch, ParticipantGate } from './protection/participant-gate';
import { machineFor } from './protocol-machines';

interface Applied {
  record: TransactionRecord;
  state: TransactionState;
  effects: readonly Effect[];
  now: number;
}

export interface StartRequest {
  definition: PinnedDefinition;
  input: JsonObject;
  idempotencyKey: string | null;
  traceparent?: string;
}

/**
 * The imperative shell around the pure state machines: loads and locks transactions, asks
 * the machine what to do (with the participant gate's say on every command), and writes the
 * new state, its history and its commands (outbox) in one database transaction.
 */
@Injectable()
export class TransactionEngine {
  private readonly logger = new Logger(TransactionEngine.name);
  private readonly topics;
  private readonly crashAfterCommitDecision: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly repository: TransactionRepository,
    private readonly outbox: OutboxWriter,
    private readonly catalog: DefinitionCatalog,
    private readonly gate: ParticipantGate,
    private readonly metrics: CoordinatorMetrics,
    config: CoordinatorConfig,
  ) {
    this.topics = topicNames(config.KAFKA_TOPIC_PREFIX);
    this.crashAfterCommitDecision = config.FAULT_CRASH === 'after-commit-decision';
  }

  /** Starts a transaction, or returns the one already started with the same idempotency key. */
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
      // Every command of the transaction carries it: the start span when tracing is on, so
      // all of them join this trace; else the caller's traceparent, passed through.
      traceparent: activeTraceparent(request.traceparent) ?? null,
      createdAt: new Date(now),
      updatedAt: new Date(now),
      layout: definition.resolved.steps.map((s) => ({ id: s.id, participant: s.participant })),
      state: machine.initial(definition.resolved),
    };
    const started = await this.transact(async (manager, batch) => {
      const gate = await batch.gate(manager, participantsOf([record]), now);
      const decision = machine.decide(record.state, { type: 'started' }, this.context(definition.resolved, record.input, now, gate));
      if (!decision.accepted) throw new Error(`the start of a transaction was refused: ${decision.rejection.message}`);
      const { state, effects } = decision;
      const inserted = { ...record, state };
      if (!(await this.repository.insert(manager, inserted, machine.nextDueAt(state, definition.resolved)))) return [null, []];
      const applied = [{ record: inserted, state, effects, now }];
      await this.writeEffects(manager, applied);
      return [inserted, applied];
    });
    if (started) return { record: started, created: true };
    const existing = await this.repository.findByIdempotencyKey(request.idempotencyKey!);
    return { record: existing!, created: false };
  }

  /** Applies an operator's event; a refusal becomes a 404 or 409 and changes nothing. */
  async applyOperator(txId: string, event: TransactionEvent): Promise<TransactionRecord> {
    return this.transact(async (manager, batch) => {
      const record = (await this.repository.lock(manager, [txId])).get(txId);
      if (!record) throw new ApiError(HttpStatus.NOT_FOUND, 'TRANSACTION_NOT_FOUND', `no transaction ${txId}`);
      const now = Date.now();
      const gate = await batch.gate(manager, participantsOf([record]), now);
      const decision = await this.decide(record, event, now, gate);
      if (!decision.accepted) {
        const { code, message } = decision.rejection;
        const status = code === 'unknown_step' ? HttpStatus.NOT_FOUND : HttpStatus.CONFLICT;
        throw new ApiError(status, code.toUpperCase(), message);
      }
      const applied = [{ record, state: decision.state, effects: decision.effects, now }];
      await this.persist(manager, applied);
      return [{ ...record, state: decision.state }, applied];
    });
  }

  /**
   * Applies many replies in one database transaction. Returns the replies whose
   * transaction does not exist (the caller dead-letters them).
   */
  async applyReplies(replies: Reply[]): Promise<Reply[]> {
    if (replies.length === 0) return [];
    return this.transact(async (manager, batch) => {
      const ids = [...new Set(replies.map((r) => r.txId))].filter(isUuid);
      const records = await this.repository.lock(manager, ids);
      const now = Date.now();
      const gate = await batch.gate(manager, participantsOf(records.values()), now);
      const unknown: Reply[] = [];
      const applied = new Map<string, Applied>();
      for (const reply of replies) {
        const record = records.get(reply.txId);
        if (!record) {
          unknown.push(reply);
          continue;
        }
        // Several replies to one transaction fold: each decision starts from the last state.
        const previous = applied.get(record.id);
        const { txId: _, ...stepReply } = reply;
        const state = previous?.state ?? record.state;
        const decision = await this.decide({ ...record, state }, { type: 'reply', ...stepReply }, now, gate);
        if (!decision.accepted) continue;
        applied.set(record.id, { record, state: decision.state, effects: [...(previous?.effects ?? []), ...decision.effects], now });
      }
      await this.persist(manager, [...applied.values()]);
      return [unknown, [...applied.values()]];
    });
  }

  /** Fires the timers of up to `limit` due transactions; returns how many were claimed. */
  async fireDueTimers(limit: number): Promise<number> {
    return this.transact(async (manager, batch) => {
      const now = Date.now();
      const records = await this.repository.claimDue(manager, now, limit);
      const gate = await batch.gate(manager, participantsOf(records.values()), now);
      const applied: Applied[] = [];
      for (const record of records.values()) {
        const decision = await this.decide(record, { type: 'timer' }, now, gate);
        if (decision.accepted) applied.push({ record, state: decision.state, effects: decision.effects, now });
      }
      await this.persist(manager, applied);
      return [records.size, applied];
    });
  }

  /**
   * Runs `work` in one database transaction whose decisions share one participant gate.
   * `work` returns its result and the decisions it wrote; once the transaction has ended,
   * the gate counts the commands committed and learns from the replies and timeouts applied,
   * or forgets everything it admitted if the transaction rolled back.
   */
  private async transact<T>(work: (manager: EntityManager, batch: GateBatch) => Promise<[T, Applied[]]>): Promise<T> {
    const batch = this.gate.begin();
    let committed: Applied[] | null = null;
    try {
      const [result, applied] = await this.dataSource.transaction((manager) => work(manager, batch));
      committed = applied;
      this.metrics.committed(
        applied.map((a) => ({ ...a, definition: this.catalog.peek(a.record.definitionName, a.record.definitionVersion)?.resolved })),
      );
      this.warnOperatorNeeded(applied);
      if (this.crashAfterCommitDecision && applied.some(decidedCommit)) crashAfterDecision();
      return result;
    } finally {
      batch.end(committed?.map(({ record, effects }) => ({ layout: record.layout, effects })) ?? null);
    }
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

  private async decide(
    record: TransactionRecord,
    event: TransactionEvent,
    now: number,
    gate: Gate,
  ): Promise<Decision<TransactionState>> {
    const definition = await this.catalog.get(record.definitionName, record.definitionVersion);
    return machineFor(record.type).decide(record.state, event, this.context(definition.resolved, record.input, now, gate));
  }

  private context(definition: ResolvedDefinition, input: JsonObject, now: number, gate: Gate): DecideContext {
    return { definition, input, now, random: Math.random, gate };
  }

  private async persist(manager: EntityManager, applied: Applied[]): Promise<void> {
    const changes = await Promise.all(
      applied.map(async ({ record, state }) => {
        const definition = await this.catalog.get(record.definitionName, record.definitionVersion);
        return { before: record, after: state, nextDueAt: machineFor(record.type).nextDueAt(state, definition.resolved) };
      }),
    );
    await this.repository.update(manager, changes);
    await this.writeEffects(manager, applied);
  }

  /** History rows and outbox rows of the applied decisions, each kind in one statement. */
  private async writeEffects(manager: EntityManager, applied: Applied[]): Promise<void> {
    const events: { txId: string; event: HistoryEvent; at: number }[] = [];
    const messages: OutgoingMessage[] = [];
    for (const { record, effects, now } of applied) {
      for (const effect of effects) {
        if (effect.kind === 'record') {
          events.push({ txId: record.id, event: effect.event, at: now });
        } else {
          const command = toCommand(record.id, record.type, effect);
          messages.push({
            topic: this.topics.commands(effect.participant),
            key: record.id,
            value: JSON.stringify(command),
            headers: {
              [HEADERS.messageId]: `${record.id}/${effect.stepId}/${effect.phase}/${effect.attempt}`,
              ...(record.traceparent ? { [HEADERS.traceparent]: record.traceparent } : {}),
            },
          });
        }
      }
    }
    await this.repository.appendEvents(manager, events);
    await this.outbox.enqueue(manager, messages);
  }
}

const decidedCommit = ({ effects }: Applied) =>
  effects.some((e) => e.kind === 'record' && e.event.type === 'transaction.decided' && e.event.decision === 'commit');

/** FAULT_CRASH=after-commit-decision: exits before the relay can publish the decision's commands (synchronously, so no I/O callback runs first). */
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
