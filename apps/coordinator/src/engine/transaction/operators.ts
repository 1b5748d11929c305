import { isForwardPhase, Phase, ReplyError } from '@ordo/protocol';
import { isScheduled } from '../attempts/attempts';
import { accept, Decision, reject, Rejection } from './decision';
import { Draft, record, updateStep } from './draft';
import { DecideContext, ResolveOutcome } from './inputs';
import { MachineRules, OperatorEventOf } from './machine';
import { findStep, RollbackCause, StepState, TransactionState } from './transaction-state';
import { AttemptRules, reopen, replayStuck } from './transitions';

/**
 * What the operator requests of a protocol with a final decision (TCC, 2PC) depend on: an
 * abort rolls back unless blocked; a retry replays the stuck steps; a resolve sets a stuck
 * step's status to the outcome, in the direction the protocol allows; failing a step that
 * has not answered its first phase yet rolls back like a refusal of it.
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
  /** The operator failed a step of the first phase (not answered yet): the rollback starts. */
  failPending(draft: Draft<S>, stepId: string, error: ReplyError, ctx: DecideContext): Draft<S>;
}

/** The `abort`, `replay` and `resolve` handlers of `MachineRules`, from the protocol's rules. */
export function operatorHandlers<P extends Phase, S extends TransactionState<P>>(
  rules: OperatorRules<P, S>,
): Pick<MachineRules<S>, 'abort' | 'replay' | 'resolve' | 'skip' | 'failStep'> {
  const { attempts, propagate, abortBlocker, rollBack, isStuck, resolveRefusal, failPending } = rules;
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

    /** A step skipped would be confirmed (committed) without its try (prepare) having run. */
    skip(): Decision<S> {
      return reject('not_applicable', 'only a saga step can be skipped: a TCC or 2PC step must run its first phase');
    },

    failStep(draft: Draft<S>, { actor, stepId, note }: OperatorEventOf<'fail_step'>, ctx: DecideContext): Decision<S> {
      const step = findStep<P>(draft.state, stepId);
      if (!step) return reject('unknown_step', `no step ${stepId}`);
      const blocker = abortBlocker(draft.state);
      if (blocker) return reject(blocker.code, blocker.message);
      if (!isPending(step)) return reject('step_not_pending', `step ${stepId} is ${step.status} in its ${step.phase} phase`);
      const noted = record(draft, { type: 'operator.failed_step', actor, stepId, note });
      return accept(propagate(failPending(noted, stepId, operatorFailure(note), ctx), ctx));
    },
  };
}

/** The error a step failed by an operator keeps. */
export function operatorFailure(note: string): ReplyError {
  return { code: 'OPERATOR_FAILED', message: note };
}

/** In its first (forward) phase and not answered yet: not sent, or an attempt out or scheduled. */
export function isPending(step: StepState): boolean {
  return isForwardPhase(step.phase) && (step.status === 'pending' || (step.status === 'running' && step.waitingFor !== null));
}

/** Sends a step's scheduled attempt now: the rest of its backoff (or hold) is skipped. */
export function retryNow<S extends TransactionState>(
  draft: Draft<S>,
  { actor, stepId, note }: OperatorEventOf<'retry_now'>,
  ctx: DecideContext,
  { attempts, propagate }: Pick<MachineRules<S>, 'attempts' | 'propagate'>,
): Decision<S> {
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  if (draft.state.paused) return reject('paused', 'the transaction is paused: resume it first');
  if (!isScheduled(step)) return reject('step_not_scheduled', `step ${stepId} has no retry waiting (${step.status})`);
  const noted = record(draft, { type: 'operator.retried_now', actor, stepId, ...(note && { note }) });
  return accept(propagate(attempts.send(noted, stepId, ctx), ctx));
}

/**
 * Sets how many more attempts a step may use in its current phase (a scheduled retry
 * counts; an attempt already out does not), while it has one out or scheduled.
 */
export function setAttempts<S extends TransactionState>(
  draft: Draft<S>,
  { actor, stepId, attemptsLeft, note }: OperatorEventOf<'set_attempts'>,
): Decision<S> {
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  if (step.waitingFor === null) return reject('step_not_active', `step ${stepId} is ${step.status}: no attempt is out or scheduled`);
  if (attemptsLeft < 1 && isScheduled(step)) {
    return reject('not_applicable', `step ${stepId} has a retry scheduled: it needs at least one attempt`);
  }
  const from = step.attemptsLeft;
  const noted = record(draft, { type: 'operator.attempts_changed', actor, stepId, from, to: attemptsLeft, ...(note && { note }) });
  return accept(updateStep(noted, stepId, { attemptsLeft }));
}
