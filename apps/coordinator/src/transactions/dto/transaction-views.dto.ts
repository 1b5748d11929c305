import { ApiProperty } from '@nestjs/swagger';
import { JSON_OBJECT, NULLABLE_STRING } from '@ordo/platform';
import { ALL_PHASES, JsonObject, Phase, ReplyError, TX_TYPES, TxType } from '@ordo/protocol';
import { decisionOf, STEP_STATUSES, StepState, StepStatus, TwoPcDecision, TwoPcState, TX_STATUSES, TxStatus } from '../../engine';
import { EventRow } from '../persistence/transaction.repository';
import { MAX_IGNORED_REPLY_EVENTS } from '../ignored-replies';
import { TransactionRecord } from '../persistence/transaction-record';

const iso = (instant: number | null) => (instant === null ? null : new Date(instant).toISOString());

const DECISION_DOC = {
  enum: ['commit', 'abort', 'pending'],
  nullable: true,
  description: '2PC only: the global decision an in-doubt participant must follow (abort when none was recorded: presumed abort)',
};
const decisionOfRecord = (record: TransactionRecord) => (record.type === '2pc' ? decisionOf(record.state as TwoPcState) : null);

const stepFields = (step: StepState) => ({
  status: step.status,
  phase: step.phase,
  attempt: step.attempt,
  attemptsLeft: step.attemptsLeft,
  waitingFor: step.waitingFor === 'refused' ? null : step.waitingFor,
  dueAt: iso(step.dueAt),
  output: step.output,
  lastError: step.lastError,
  input: step.input ?? null,
});

export class ReplyErrorView {
  @ApiProperty({ example: 'OUT_OF_STOCK' }) code: string;
  @ApiProperty({ example: 'only 1 left' }) message: string;
}

export class DefinitionRef {
  @ApiProperty({ example: 'place-order' }) name: string;
  @ApiProperty({ type: 'integer', example: 3 }) version: number;
}

export class StepView {
  @ApiProperty({ example: 'reserve-stock' }) id: string;
  @ApiProperty({ example: 'inventory' }) participant: string;
  @ApiProperty({ enum: STEP_STATUSES }) status: StepStatus;
  @ApiProperty({ enum: ALL_PHASES, description: 'Phase of the latest attempt' }) phase: Phase;
  @ApiProperty({ example: 1, description: 'Latest attempt number in this phase (0: none sent)' }) attempt: number;
  @ApiProperty({ example: 4 }) attemptsLeft: number;
  @ApiProperty({
    enum: ['reply', 'backoff', 'hold'],
    nullable: true,
    description: 'What the step waits for: the reply to its attempt out, the end of a retry backoff, or of a hold; null: nothing',
  })
  waitingFor: 'reply' | 'backoff' | 'hold' | null;
  @ApiProperty({ ...NULLABLE_STRING, example: '2026-11-21T10:00:05.000Z', description: 'Timeout, next retry, or end of a hold' })
  dueAt: string | null;
  @ApiProperty({ ...JSON_OBJECT, nullable: true, example: { reservationId: 'r-1' } }) output: JsonObject | null;
  @ApiProperty({ type: ReplyErrorView, nullable: true }) lastError: ReplyError | null;
  @ApiProperty({
    ...JSON_OBJECT,
    nullable: true,
    example: { sku: 'SKU-2', qty: 1 },
    description: "The input an operator set for the step's commands (edit and retry); null: the input its definition maps",
  })
  input: JsonObject | null;
}

export class PauseView {
  @ApiProperty({ example: '2026-11-21T10:00:02.000Z', description: "When the transaction's clock stopped" }) since: string;
  @ApiProperty({
    ...NULLABLE_STRING,
    example: 'ops-alice',
    description: 'The operator who paused it; null when only paused participants hold it',
  })
  actor: string | null;
  @ApiProperty({ type: [String], example: ['inventory'], description: 'Paused participants it has a command for' })
  participants: string[];
}

export class TransactionView {
  @ApiProperty({ example: '0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10' }) id: string;
  @ApiProperty({ type: DefinitionRef }) definition: DefinitionRef;
  @ApiProperty({ enum: TX_TYPES }) type: TxType;
  @ApiProperty({ enum: TX_STATUSES }) status: TxStatus;
  @ApiProperty({
    type: PauseView,
    nullable: true,
    description: 'Set while paused: nothing is sent and no timer runs (replies are still applied); null otherwise',
  })
  paused: PauseView | null;
  @ApiProperty({ ...JSON_OBJECT, example: { sku: 'SKU-1', qty: 2 } }) input: JsonObject;
  @ApiProperty({ ...NULLABLE_STRING, description: "The caller's own: another API key's equal key is another key" })
  idempotencyKey: string | null;
  @ApiProperty({
    ...NULLABLE_STRING,
    example: 'shop-backend',
    description: 'Name of the API key that started it (null: started before actors were recorded)',
  })
  startedBy: string | null;
  @ApiProperty({ ...NULLABLE_STRING, example: '2026-11-21T10:00:30.000Z' }) deadline: string | null;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) createdAt: string;
  @ApiProperty({ example: '2026-11-21T10:00:01.250Z' }) updatedAt: string;
  @ApiProperty(DECISION_DOC) decision: TwoPcDecision | 'pending' | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { orderId: 'o-7f3a', customer: 'ada' },
    description: 'Business keys given at the start ({} when none)',
  })
  tags: Record<string, string>;
  @ApiProperty({ type: [StepView] }) steps: StepView[];
  @ApiProperty({
    example: 0,
    description: `Replies that answered nothing awaited (duplicates, stale attempts …); the history records the first ${MAX_IGNORED_REPLY_EVENTS}`,
  })
  ignoredReplies: number;

  static of(record: TransactionRecord): TransactionView {
    const { state } = record;
    return {
      id: record.id,
      definition: { name: record.definitionName, version: record.definitionVersion },
      type: record.type,
      status: state.status,
      paused: state.paused && { ...state.paused, since: new Date(state.paused.since).toISOString(), participants: [...state.paused.participants] },
      input: record.input,
      idempotencyKey: record.idempotencyKey,
      startedBy: record.startedBy,
      deadline: iso(state.deadline),
      decision: decisionOfRecord(record),
      tags: { ...record.tags },
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
      steps: record.layout.map(({ id, participant }) => ({
        id,
        participant,
        ...stepFields(state.steps[id]),
      })),
      ignoredReplies: record.ignoredReplies,
    };
  }
}

/** All that a participant key may read of a transaction. */
export class DecisionView {
  @ApiProperty({ example: '0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10' }) id: string;
  @ApiProperty({ enum: TX_TYPES }) type: TxType;
  @ApiProperty(DECISION_DOC) decision: TwoPcDecision | 'pending' | null;

  static of(record: TransactionRecord): DecisionView {
    return { id: record.id, type: record.type, decision: decisionOfRecord(record) };
  }
}

export class TransactionPage {
  @ApiProperty({ type: [TransactionView] }) items: TransactionView[];
  @ApiProperty({ ...NULLABLE_STRING, description: 'Pass as `cursor` for the next page; null on the last page' })
  nextCursor: string | null;
}

export class EventView {
  @ApiProperty({ example: '42' }) id: string;
  @ApiProperty({ example: 'step.replied' }) type: string;
  @ApiProperty({ ...NULLABLE_STRING, example: 'charge' }) stepId: string | null;
  @ApiProperty({ ...NULLABLE_STRING, example: 'ops@example.com' }) actor: string | null;
  @ApiProperty({ example: '2026-11-21T10:00:01.250Z' }) at: string;
  @ApiProperty({ ...JSON_OBJECT, example: { type: 'step.replied', stepId: 'charge', phase: 'execute', attempt: 1, outcome: 'success' } })
  data: object;

  static of(row: EventRow): EventView {
    return { id: row.id, type: row.type, stepId: row.stepId, actor: row.actor, at: row.at.toISOString(), data: row.data };
  }
}

export class EventPage {
  @ApiProperty({ type: [EventView] }) items: EventView[];
  @ApiProperty({ ...NULLABLE_STRING, description: 'Pass as `cursor` for the next page; null on the last page' })
  nextCursor: string | null;
}

export class BulkPauseResult {
  @ApiProperty({ example: 12, description: 'Running transactions paused' }) paused: number;
}

export class BulkResumeResult {
  @ApiProperty({ example: 12, description: 'Paused transactions resumed' }) resumed: number;
}

export class BulkRetryResult {
  @ApiProperty({ example: 12, description: 'Failed transactions replayed' }) retried: number;
}

export class StepInputView {
  @ApiProperty({ ...JSON_OBJECT, example: { sku: 'SKU-1', qty: 2 }, description: "What the step's next command carries" })
  input: JsonObject;
  @ApiProperty({ description: 'Set by an operator (edit and retry); false: mapped from the transaction input and step outputs' })
  edited: boolean;
}
