import { JsonObject, ReplyError, TxType } from '@ordo/protocol';
import { StepDefinition, StepState, TransactionState } from '../engine';

/** What a webhook can subscribe to. */
export const ALERT_KINDS = ['failed', 'stuck', 'circuit_open', 'dead_letter'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** An alert as recorded: what happened, to which transaction or participant, and its facts. */
export interface AlertRecord {
  id: string;
  kind: AlertKind;
  txId: string | null;
  participant: string | null;
  definition: string | null;
  data: JsonObject;
  at: Date;
}

/** A new alert row; `dedupeKey` makes an event seen twice (two instances, two passes) one alert. */
export type NewAlert = Omit<AlertRecord, 'id' | 'at'> & { dedupeKey: string | null };

/**
 * The JSON body POSTed to a webhook (docs/operations.md#alerts). `id` stays the same across
 * the retries of one delivery, so a receiver can drop a duplicate.
 */
export interface AlertBody {
  id: string;
  kind: AlertKind | 'summary' | 'test';
  at: string;
  transactionId: string | null;
  participant: string | null;
  definition: string | null;
  /** One line for a chat message or a pager. */
  summary: string;
  /** The dashboard page to look at; absolute with ORDO_PUBLIC_URL. */
  link: string;
  details: JsonObject;
}

/** What a failed alert tells of its transaction (a stored transaction record has it). */
export interface FailedTransaction {
  readonly id: string;
  readonly definitionName: string;
  readonly definitionVersion: number;
  readonly type: TxType;
  readonly layout: readonly Pick<StepDefinition, 'id' | 'participant'>[];
}

/** Facts of a failed transaction: the steps that need an operator, with their last error. */
export function failedAlert(record: FailedTransaction, after: TransactionState): NewAlert {
  const steps = record.layout
    .map(({ id, participant }) => ({ id, participant, step: after.steps[id] }))
    .filter(({ step }) => step.status === 'failed' || step.status === 'compensation_failed')
    .map(({ id, participant, step }) => ({ id, participant, status: step.status, phase: step.phase, error: errorOf(step) }));
  return {
    kind: 'failed',
    txId: record.id,
    participant: null,
    definition: record.definitionName,
    data: { definitionVersion: record.definitionVersion, type: record.type, steps },
    dedupeKey: null,
  };
}

const errorOf = (step: StepState): JsonObject | null => step.lastError && { code: step.lastError.code, message: step.lastError.message };

const dashboardLink = (publicUrl: string, ...route: string[]) => `${publicUrl.replace(/\/+$/, '')}/#/${route.map(encodeURIComponent).join('/')}`;

/** A fact of an alert's data as text: strings as they are, anything else as JSON. */
const text = (value: JsonObject[string]): string => (typeof value === 'string' ? value : JSON.stringify(value));

function summaryOf(alert: AlertRecord): string {
  const d = alert.data;
  switch (alert.kind) {
    case 'failed': {
      const [step] = (d.steps ?? []) as { id: string; phase: string; error: ReplyError | null }[];
      const cause = step ? `: step ${step.id} (${step.phase})${step.error ? ` ${step.error.code}: ${step.error.message}` : ''}` : '';
      return `Transaction ${alert.txId} of ${alert.definition} v${text(d.definitionVersion)} failed${cause}`;
    }
    case 'stuck':
      return `Transaction ${alert.txId} of ${alert.definition} is ${text(d.status)} with no progress since ${text(d.lastProgressAt)}`;
    case 'circuit_open':
      return `Circuit of ${alert.participant} opened for ${text(d.openMs)} ms (failure ratio ${text(d.failureRatio)})`;
    case 'dead_letter':
      return `${text(d.count)} replies dead-lettered (${text(d.reason)}): ${text(d.message)}`;
  }
}

/** The body of an alert's delivery. */
export function alertBody(alert: AlertRecord, publicUrl: string): AlertBody {
  return {
    id: alert.id,
    kind: alert.kind,
    at: alert.at.toISOString(),
    transactionId: alert.txId,
    participant: alert.participant,
    definition: alert.definition,
    summary: summaryOf(alert),
    link: alert.txId ? dashboardLink(publicUrl, 'transactions', alert.txId) : dashboardLink(publicUrl, 'overview'),
    details: alert.data,
  };
}

/** What the rate limit folded into one summary: counts per kind and the first few alerts. */
export interface Folded {
  counts: Partial<Record<AlertKind, number>>;
  examples: { kind: AlertKind; transactionId: string | null; participant: string | null }[];
}

/** The body of a summary delivery; `id` is the summary's delivery id, prefixed so it never meets an alert id. */
export function summaryBody(deliveryId: string, folded: Folded, at: Date, publicUrl: string): AlertBody {
  const total = Object.values(folded.counts).reduce((a, b) => a + (b ?? 0), 0);
  const parts = Object.entries(folded.counts).map(([kind, n]) => `${n} ${kind}`);
  return {
    id: `summary-${deliveryId}`,
    kind: 'summary',
    at: at.toISOString(),
    transactionId: null,
    participant: null,
    definition: null,
    summary: `${total} more alerts past the rate limit: ${parts.join(', ')}`,
    link: dashboardLink(publicUrl, 'overview'),
    details: { counts: folded.counts, examples: folded.examples },
  };
}

/** A sample alert for the test action: a receiver's wiring and signature check, without a real event. */
export function testBody(at: Date, publicUrl: string): AlertBody {
  return {
    id: `test-${at.getTime()}`,
    kind: 'test',
    at: at.toISOString(),
    transactionId: null,
    participant: null,
    definition: null,
    summary: 'Test alert from Ordo: this webhook receives signed alerts',
    link: dashboardLink(publicUrl, 'overview'),
    details: {},
  };
}
