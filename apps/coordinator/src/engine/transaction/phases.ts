/** A step's phases: entering one with a fresh budget, ending an attempt, retrying, phases that must succeed. */

import { COMPENSATING_PHASES, Outcome, Phase, ReplyError } from '@ordo/protocol';
import { freshAttempts, idle, retryLater } from '../attempts/attempts';
import { EffectiveRetryPolicy, stepSpec } from '../definition/definition';
import { Draft, record, updateStep } from './draft';
import { DecideContext } from './inputs';
import { AttemptRules } from './protocol-rules';
import { StepStatus, TransactionState } from './transaction-state';

/**
 * The step enters a new phase with a fresh attempt budget and sends its first attempt.
 * Commands of a compensating phase show the step as `compensating`, the others as `running`.
 */
export function beginPhase<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  phase: S['steps'][string]['phase'],
  ctx: DecideContext,
  rules: AttemptRules<S>,
): Draft<S> {
  const attempts = freshAttempts(phase, stepSpec(ctx.definition, stepId).retry.maxAttempts);
  return rules.send(updateStep(draft, stepId, { ...attempts, status: activeStatus(phase) }), stepId, ctx);
}

/** The status of a step while a command of `phase` is out. */
export function activeStatus(phase: Phase): StepStatus {
  return COMPENSATING_PHASES.includes(phase) ? 'compensating' : 'running';
}

/** The awaited attempt ended: the step waits for nothing; a new error replaces the last one. */
export function endAttempt<S extends TransactionState>(draft: Draft<S>, stepId: string, error: ReplyError | null): Draft<S> {
  const step = draft.state.steps[stepId];
  return updateStep(draft, stepId, { ...idle(step), lastError: error ?? step.lastError });
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

/**
 * An attempt of a phase that must succeed (compensate, confirm, cancel, commit, abort) ended,
 * already through `endAttempt`: success makes the step `done`; any other outcome is retried
 * with backoff, and a spent budget leaves the step `gaveUp` for an operator.
 */
export function concludeMustSucceed<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  outcome: Outcome,
  ctx: DecideContext,
  { done, gaveUp }: { readonly done: StepStatus; readonly gaveUp: StepStatus },
): Draft<S> {
  if (outcome === 'success') return updateStep(draft, stepId, { status: done });
  const { retry } = stepSpec(ctx.definition, stepId);
  return scheduleRetry(draft, stepId, retry, ctx) ?? updateStep(draft, stepId, { status: gaveUp });
}
