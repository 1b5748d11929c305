/**
 * Every operator request, one path for all three protocols: each checks what it needs, records
 * the operator's event, and asks the protocol's rules (protocol-rules.ts) only where saga, TCC
 * and 2PC differ — what blocks a rollback, what is stuck, how a step is resolved or skipped.
 * Pausing and resuming are in pause.ts.
 */
import { isForwardPhase, ReplyError } from '@ordo/protocol';
import { isScheduled, idle, refill } from '../attempts/attempts';
import { ResolvedStep, stepSpec } from '../definition/definition';
import { accept, Decision, reject } from './decision';
import { stepInput } from './dispatch';
import { Draft, record, updateStep } from './draft';
import { DecideContext, OperatorEventOf, ResolveOutcome } from './inputs';
import { reopen } from './lifecycle';
import { activeStatus } from './phases';
import { AttemptRules, ProtocolRules } from './protocol-rules';
import { findStep, StepState, TransactionState } from './transaction-state';

/** Rolls back, unless the protocol refuses it now (a pivot in flight, a commit decided …). */
export function abort<S extends TransactionState>(
  draft: Draft<S>,
  { actor, reason }: OperatorEventOf<'abort'>,
  ctx: DecideContext,
  rules: ProtocolRules<S>,
): Decision<S> {
  const blocker = rules.rollbackBlocker(draft.state, ctx.definition);
  if (blocker) return reject(blocker.code, blocker.message);
  const aborted = record(draft, { type: 'operator.aborted', actor, ...(reason && { reason }) });
  return accept(rules.propagate(rules.rollBack(aborted, { kind: 'aborted', actor }, ctx), ctx));
}

/** Replay: re-drives every stuck step of a `failed` transaction with a fresh attempt budget. */
export function replay<S extends TransactionState>(
  draft: Draft<S>,
  { actor }: OperatorEventOf<'retry'>,
  ctx: DecideContext,
  rules: ProtocolRules<S>,
): Decision<S> {
  if (draft.state.status !== 'failed') return reject('not_failed', 'only a failed transaction can be retried');
  const stuck = ctx.definition.steps.filter((spec) => rules.isStuck(draft.state, spec.id));
  const replayed = reopen(record(draft, { type: 'operator.retried', actor, stepIds: stuck.map((spec) => spec.id) }));
  return accept(
    rules.propagate(
      stuck.reduce((current, spec) => replayStep(current, spec, ctx, rules.attempts), replayed),
      ctx,
    ),
  );
}

/** An operator fixed a stuck step by hand: it counts as `outcome`, in the direction the protocol allows. */
export function resolve<S extends TransactionState>(
  draft: Draft<S>,
  event: OperatorEventOf<'resolve'>,
  ctx: DecideContext,
  rules: ProtocolRules<S>,
): Decision<S> {
  const { stepId, outcome, actor, note } = event;
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  if (!rules.isStuck(draft.state, stepId)) return reject('step_not_stuck', `step ${stepId} is ${step.status}, not stuck`);
  const refusal = rules.resolveRefusal(draft.state, stepId, outcome, ctx.definition);
  if (refusal) return reject(refusal.code, refusal.message);
  const noted = record(draft, { type: 'operator.resolved', actor, stepId, outcome, note });
  return accept(rules.propagate(rules.resolveAs(noted, stepId, outcome, ctx), ctx));
}

/** The plain `resolveAs`: the step takes the outcome as its status, and a failed transaction reopens. */
export function takeOutcome<S extends TransactionState>(draft: Draft<S>, stepId: string, outcome: ResolveOutcome): Draft<S> {
  return reopen(updateStep(draft, stepId, { status: outcome }));
}

/**
 * An operator counts a forward step as succeeded with the output they give, so that its
 * dependents run (and read it): one not answered yet (a late reply to it is then ignored),
 * or one stuck in a `failed` transaction. Only where the protocol allows it (the saga).
 */
export function skip<S extends TransactionState>(
  draft: Draft<S>,
  { actor, stepId, output, note }: OperatorEventOf<'skip'>,
  ctx: DecideContext,
  rules: ProtocolRules<S>,
): Decision<S> {
  if (!rules.skip) return reject('not_applicable', 'only a saga step can be skipped: a TCC or 2PC step must run its first phase');
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  const stuck = draft.state.status === 'failed' && rules.isStuck(draft.state, stepId);
  if (draft.state.status !== 'running' && !stuck) return reject('not_running', 'only a transaction moving forward can skip a step');
  if (!isPending(step) && !stuck) return reject('step_not_pending', `step ${stepId} is ${step.status} in its ${step.phase} phase`);
  const refusal = rules.skip.refusal(draft.state, stepId, ctx.definition);
  if (refusal) return reject(refusal.code, refusal.message);
  const noted = updateStep(record(draft, { type: 'operator.skipped', actor, stepId, output, note }), stepId, idle(step));
  return accept(rules.propagate(reopen(rules.skip.succeed(noted, stepId, output, ctx)), ctx));
}

/** An operator fails a step of the first phase not answered yet: the rollback starts, where an abort could. */
export function failStep<S extends TransactionState>(
  draft: Draft<S>,
  { actor, stepId, note }: OperatorEventOf<'fail_step'>,
  ctx: DecideContext,
  rules: ProtocolRules<S>,
): Decision<S> {
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  const blocker = rules.rollbackBlocker(draft.state, ctx.definition);
  if (blocker) return reject(blocker.code, blocker.message);
  if (!isPending(step)) return reject('step_not_pending', `step ${stepId} is ${step.status} in its ${step.phase} phase`);
  const noted = record(draft, { type: 'operator.failed_step', actor, stepId, note });
  return accept(rules.propagate(rules.failPending(noted, stepId, operatorFailure(note), ctx), ctx));
}

/** The error a step failed by an operator keeps. */
function operatorFailure(note: string): ReplyError {
  return { code: 'OPERATOR_FAILED', message: note };
}

/** In its first (forward) phase and not answered yet: not sent, or an attempt out or scheduled. */
function isPending(step: StepState): boolean {
  return isForwardPhase(step.phase) && (step.status === 'pending' || (step.status === 'running' && step.waitingFor !== null));
}

/** Sends a step's scheduled attempt now: the rest of its backoff (or hold) is skipped. */
export function retryNow<S extends TransactionState>(
  draft: Draft<S>,
  { actor, stepId, note }: OperatorEventOf<'retry_now'>,
  ctx: DecideContext,
  rules: ProtocolRules<S>,
): Decision<S> {
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  if (draft.state.paused) return reject('paused', 'the transaction is paused: resume it first');
  if (!isScheduled(step)) return reject('step_not_scheduled', `step ${stepId} has no retry waiting (${step.status})`);
  const noted = record(draft, { type: 'operator.retried_now', actor, stepId, ...(note && { note }) });
  return accept(rules.propagate(rules.attempts.send(noted, stepId, ctx), ctx));
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

/**
 * Edit and retry: the step's commands carry `input` from its next attempt on (kept on the
 * step, so later retries and phases carry it too), and that attempt goes out at once: a
 * scheduled retry (backoff or hold) is sent now; a stuck step is replayed with a fresh
 * budget, the transaction reopening. Only in the phases whose input the protocol lets an
 * operator choose (`editablePhases`). An attempt already out is not replaced: its reply
 * would then be ignored while the participant may have acted on it.
 */
export function editInput<S extends TransactionState>(
  draft: Draft<S>,
  { actor, stepId, input, note }: OperatorEventOf<'edit_input'>,
  ctx: DecideContext,
  rules: ProtocolRules<S>,
): Decision<S> {
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  if (!rules.editablePhases.includes(step.phase)) {
    return reject('not_applicable', `step ${stepId} is in its ${step.phase} phase, which must carry the input its first phase carried`);
  }
  if (draft.state.paused) return reject('paused', 'the transaction is paused: resume it first');
  const stuck = draft.state.status === 'failed' && rules.isStuck(draft.state, stepId);
  if (!isScheduled(step) && !stuck) {
    const doing = step.waitingFor === 'reply' ? 'has an attempt out' : `is ${step.status}`;
    return reject('step_not_retriable', `step ${stepId} ${doing}: only a step waiting for a retry, or stuck, can be edited and retried`);
  }
  const from = stepInput(draft.state, stepId, ctx);
  const edited = updateStep(record(draft, { type: 'operator.input_edited', actor, stepId, from, to: input, note }), stepId, { input });
  const retried = stuck
    ? replayStep(reopen(edited), stepSpec(ctx.definition, stepId), ctx, rules.attempts)
    : rules.attempts.send(edited, stepId, ctx);
  return accept(rules.propagate(retried, ctx));
}

/** Sends a stuck step's next attempt in its current phase with a fresh attempt budget; attempt numbers keep counting. */
function replayStep<S extends TransactionState>(draft: Draft<S>, spec: ResolvedStep, ctx: DecideContext, attempts: AttemptRules<S>): Draft<S> {
  const step = draft.state.steps[spec.id];
  const refilled = { ...refill(step, spec.retry.maxAttempts), status: activeStatus(step.phase) };
  return attempts.send(updateStep(draft, spec.id, refilled), spec.id, ctx);
}
