import { JsonObject, ReplyError } from '@ordo/protocol';
import { holdUntil, matchReply, retryLater, sendAttempt } from '../attempts/attempts';
import { EffectiveRetryPolicy } from '../definition/definition';
import { Draft, emit, record, setStatus, updateStep } from './draft';
import { IgnoredReplyReason } from './history';
import { DecideContext, StepReply } from './inputs';
import { findStep, isFinished, TransactionState } from './transaction-state';

/** What a command carries besides the attempt bookkeeping. */
export interface Dispatch {
  readonly participant: string;
  readonly action: string;
  readonly input: JsonObject;
  readonly timeoutMs: number;
}

// Transitions every protocol shares. Each returns a new draft with the history recorded.

export function startTransaction<S extends TransactionState>(draft: Draft<S>, ctx: DecideContext): Draft<S> {
  const { timeoutMs } = ctx.definition;
  const deadline = timeoutMs === null ? null : ctx.now + timeoutMs;
  const started = { ...draft, state: { ...draft.state, startedAt: ctx.now, deadline } };
  return record(started, { type: 'transaction.started', deadline });
}

/**
 * Sends the next attempt of the step's current phase, or, when the gate refuses, holds the
 * step until the gate's retry time without using an attempt.
 */
export function dispatchAttempt<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  { participant, action, input, timeoutMs }: Dispatch,
  ctx: DecideContext,
): Draft<S> {
  const before = draft.state.steps[stepId];
  const admission = ctx.gate.admit(participant);
  if (!admission.admitted) {
    const { reason, retryAt: until } = admission;
    const held = updateStep(draft, stepId, holdUntil(before, until));
    // Held again: the history already says since when and why.
    if (before.waitingFor === 'hold') return held;
    return record(held, { type: 'step.held', stepId, phase: before.phase, participant, reason, until });
  }
  const step = sendAttempt(before, timeoutMs, ctx.now);
  const { phase, attempt, dueAt: deadline } = step;
  const sent = record(updateStep(draft, stepId, step), { type: 'step.dispatched', stepId, phase, attempt, deadline });
  return emit(sent, { kind: 'send', stepId, participant, phase, action, attempt, input, deadline });
}

/** Schedules the step's next attempt with backoff, or returns null once its budget is spent. */
export function scheduleRetry<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  policy: EffectiveRetryPolicy,
  ctx: DecideContext,
): Draft<S> | null {
  const step = draft.state.steps[stepId];
  const next = retryLater(step, policy, ctx.now, ctx.random);
  if (!next) return null;
  const { phase, dueAt } = next;
  const attempt = step.attempt + 1;
  return record(updateStep(draft, stepId, next), { type: 'step.retry_scheduled', stepId, phase, attempt, dueAt });
}

/** Records that the awaited attempt got no reply in time; returns the error to keep on the step. */
export function recordTimeout<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  timeoutMs: number,
): [Draft<S>, ReplyError] {
  const { phase, attempt } = draft.state.steps[stepId];
  const error = { code: 'TIMEOUT', message: `no reply to ${phase} attempt ${attempt} within ${timeoutMs} ms` };
  return [record(draft, { type: 'step.timed_out', stepId, phase, attempt }), error];
}

/** Why a reply does not count, or null when it answers the attempt its step awaits. */
export function ignoredReplyReason(state: TransactionState, reply: StepReply): IgnoredReplyReason | null {
  if (isFinished(state.status)) return 'transaction_finished';
  const step = findStep(state, reply.stepId);
  if (!step) return 'unknown_step';
  const match = matchReply(step, reply.phase, reply.attempt);
  return match === 'current' ? null : match;
}

/** Ids of the steps whose timer is due at `now`, earliest first (ties in the given order). */
export function dueSteps(state: TransactionState, stepIds: readonly string[], now: number): string[] {
  const dueAt = (id: string): number => state.steps[id].dueAt ?? Infinity;
  return stepIds.filter((id) => dueAt(id) <= now).sort((a, b) => dueAt(a) - dueAt(b));
}

/** Back from `failed` after an operator action, in the direction the transaction was going. */
export function reopen<S extends TransactionState>(draft: Draft<S>): Draft<S> {
  return draft.state.status === 'failed'
    ? setStatus(draft, draft.state.rollback ? 'compensating' : 'running')
    : draft;
}
