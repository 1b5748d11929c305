/** A participant's reply: it counts only if it answers the attempt its step awaits. */

import { matchReply } from '../attempts/attempts';
import { Draft, record } from './draft';
import { IgnoredReplyReason } from './history';
import { DecideContext, StepReply } from './inputs';
import { AttemptRules } from './protocol-rules';
import { findStep, isFinished, TransactionState } from './transaction-state';

/**
 * A participant's reply: concludes the attempt it answers, or, when it answers nothing
 * awaited (duplicate, late, stale, unknown), only records `step.reply_ignored`.
 */
export function applyReply<S extends TransactionState>(draft: Draft<S>, reply: StepReply, ctx: DecideContext, rules: AttemptRules<S>): Draft<S> {
  const { stepId, phase, attempt, outcome, error } = reply;
  const reason = ignoredReplyReason(draft.state, reply);
  if (reason) return record(draft, { type: 'step.reply_ignored', stepId, phase, attempt, outcome, reason });
  const replied = record(draft, { type: 'step.replied', stepId, phase, attempt, outcome, ...(error && { error }) });
  return rules.conclude(replied, stepId, outcome, reply.output ?? null, error ?? null, ctx);
}

/** Why a reply does not count, or null when it answers the attempt its step awaits. */
export function ignoredReplyReason(state: TransactionState, reply: StepReply): IgnoredReplyReason | null {
  if (isFinished(state.status)) return 'transaction_finished';
  const step = findStep(state, reply.stepId);
  if (!step) return 'unknown_step';
  const match = matchReply(step, reply.phase, reply.attempt);
  return match === 'current' ? null : match;
}
