import { JsonObject, Outcome, Phase, ReplyError } from '@ordo/protocol';
import { ResolvedDefinition } from '../definition/definition';
import { Rejection } from './decision';
import { Draft } from './draft';
import { DecideContext, ResolveOutcome } from './inputs';
import { RollbackCause, TransactionState } from './transaction-state';

/** How a protocol sends a step's next attempt, and what it makes of an attempt that ended. */
export interface AttemptRules<S> {
  /** Sends (or holds) the next attempt of the step's current phase. */
  send(draft: Draft<S>, stepId: string, ctx: DecideContext): Draft<S>;
  /** The awaited attempt ended: by a reply, or by its timeout (as `retry`, with a TIMEOUT error). */
  conclude(draft: Draft<S>, stepId: string, outcome: Outcome, output: JsonObject | null, error: ReplyError | null, ctx: DecideContext): Draft<S>;
}

/**
 * What makes a protocol: the parts of a decision that differ between saga, TCC and 2PC.
 * Everything else — starting, replies, timers, pausing and every operator request — is the
 * same code for all three (machine.ts, operators.ts), asking these rules where they differ.
 */
export interface ProtocolRules<S extends TransactionState> {
  readonly attempts: AttemptRules<S>;
  /** Moves the transaction as far as it can go after any change. */
  propagate: (draft: Draft<S>, ctx: DecideContext) => Draft<S>;
  /** What a `timer` event does before propagating (step timers, the deadline). */
  timer: (draft: Draft<S>, ctx: DecideContext) => Draft<S>;
  /** Why a rollback (an abort, an operator failing a step) is refused now; null: it may roll back. */
  rollbackBlocker: (state: S, definition: ResolvedDefinition) => Rejection | null;
  /** Starts the rollback: the protocol's undo phase for what was done. */
  rollBack: (draft: Draft<S>, cause: RollbackCause, ctx: DecideContext) => Draft<S>;
  /** Waits for an operator: out of attempts where the protocol cannot move on by itself. */
  isStuck: (state: S, stepId: string) => boolean;
  /** Why this stuck step cannot be resolved as `outcome`; null: it can. */
  resolveRefusal: (state: S, stepId: string, outcome: ResolveOutcome, definition: ResolvedDefinition) => Rejection | null;
  /** What resolving a stuck step as `outcome` does (the history already says who did it). */
  resolveAs: (draft: Draft<S>, stepId: string, outcome: ResolveOutcome, ctx: DecideContext) => Draft<S>;
  /** An operator failed a step of the first phase, not answered yet: as the protocol's refusal of it. */
  failPending: (draft: Draft<S>, stepId: string, error: ReplyError, ctx: DecideContext) => Draft<S>;
  /** Skipping a step forward with an operator's output; null where the protocol cannot. */
  readonly skip: SkipRules<S> | null;
  /** The phases whose input an operator may edit (edit and retry). */
  readonly editablePhases: readonly Phase[];
}

export interface SkipRules<S extends TransactionState> {
  /** Why this step may not be skipped now, beyond being pending or stuck; null: it may. */
  refusal: (state: S, stepId: string, definition: ResolvedDefinition) => Rejection | null;
  /** The step succeeded with `output`. */
  succeed: (draft: Draft<S>, stepId: string, output: JsonObject | null, ctx: DecideContext) => Draft<S>;
}
