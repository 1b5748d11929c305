import { Phase } from '@ordo/protocol';
import { accept, Decision, reject, Rejection } from './decision';
import { Draft, record, updateStep } from './draft';
import { DecideContext, ResolveOutcome } from './inputs';
import { MachineRules, OperatorEventOf } from './machine';
import { findStep, RollbackCause, StepState, TransactionState } from './transaction-state';
import { AttemptRules, reopen, replayStuck } from './transitions';

/**
 * What the operator requests of a protocol with a final decision (TCC, 2PC) depend on: an
 * abort rolls back unless blocked; a retry replays the stuck steps; a resolve sets a stuck
 * step's status to the outcome, in the direction the protocol allows.
 */
export interface OperatorRules<P extends Phase, S extends TransactionState<P>> {
  readonly attempts: AttemptRules<S>;
  propagate(draft: Draft<S>, ctx: DecideContext): Draft<S>;
  /** Why an abort is refused now; null: it may roll back. */
  abortBlocker(state: S): Rejection | null;
  /** The rollback an abort starts. */
  rollBack(draft: Draft<S>, cause: RollbackCause, ctx: DecideContext): Draft<S>;
  /** Waits for an operator: out of attempts in a phase that must succeed. */
  isStuck(step: StepState<P>): boolean;
  /** Why this stuck step cannot be resolved as `outcome`; null: it can. */
  resolveRefusal(step: StepState<P>, outcome: ResolveOutcome): Rejection | null;
}

/** The `abort`, `replay` and `resolve` handlers of `MachineRules`, from the protocol's rules. */
export function operatorHandlers<P extends Phase, S extends TransactionState<P>>(
  rules: OperatorRules<P, S>,
): Pick<MachineRules<S>, 'abort' | 'replay' | 'resolve'> {
  const { attempts, propagate, abortBlocker, rollBack, isStuck, resolveRefusal } = rules;
  return {
    abort(draft: Draft<S>, { actor, reason }: OperatorEventOf<'abort'>, ctx: DecideContext): Decision<S> {
      const blocker = abortBlocker(draft.state);
      if (blocker) return reject(blocker.code, blocker.message);
      const aborted = record(draft, { type: 'operator.aborted', actor, ...(reason && { reason }) });
      return accept(propagate(rollBack(aborted, { kind: 'aborted', actor }, ctx), ctx));
    },

    /** Re-drives every stuck step of a `failed` transaction with a fresh attempt budget. */
    replay(draft: Draft<S>, { actor }: OperatorEventOf<'retry'>, ctx: DecideContext): Decision<S> {
      if (draft.state.status !== 'failed') return reject('not_failed', 'only a failed transaction can be retried');
      const stuck = ctx.definition.steps.filter((spec) => isStuck(draft.state.steps[spec.id]));
      return accept(propagate(replayStuck(draft, actor, stuck, ctx, attempts), ctx));
    },

    /** An operator fixed a stuck step by hand: it takes the outcome as its status. */
    resolve(draft: Draft<S>, event: OperatorEventOf<'resolve'>, ctx: DecideContext): Decision<S> {
      const { stepId, outcome, actor, note } = event;
      const step = findStep<P>(draft.state, stepId);
      if (!step) return reject('unknown_step', `no step ${stepId}`);
      if (!isStuck(step)) return reject('step_not_stuck', `step ${stepId} is ${step.status}, not stuck`);
      const refusal = resolveRefusal(step, outcome);
      if (refusal) return reject(refusal.code, refusal.message);
      const noted = record(draft, { type: 'operator.resolved', actor, stepId, outcome, note });
      return accept(propagate(reopen(updateStep(noted, stepId, { status: outcome })), ctx));
    },
  };
}
