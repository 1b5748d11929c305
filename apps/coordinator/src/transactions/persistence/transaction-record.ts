import { JsonObject, TxType } from '@ordo/protocol';
import { TransactionState } from '../../engine';
import { Tags } from '../tags';

/** A transaction as the coordinator holds it: identity, pinned definition, engine state. */
export interface TransactionRecord {
  readonly id: string;
  readonly definitionName: string;
  readonly definitionVersion: number;
  readonly type: TxType;
  readonly input: JsonObject;
  /** The caller's own: another caller's equal key is another key. */
  readonly idempotencyKey: string | null;
  /** The API key that started it; null for transactions started before actors were recorded. */
  readonly startedBy: string | null;
  /** W3C trace context of the request that started it; every command carries it. */
  readonly traceparent: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Bumped by every write: a decision is written only over the version it was taken on. */
  readonly version: number;
  /** Replies it ignored (duplicates, stale attempts …); its history keeps the first few. */
  readonly ignoredReplies: number;
  /** Its business keys, set at the start; null when it has none. */
  readonly tags: Tags | null;
  readonly state: TransactionState;
  /** The steps in definition order, with their participants (stored with the step rows). */
  readonly layout: readonly StepLayout[];
}

export interface StepLayout {
  readonly id: string;
  readonly participant: string;
}
