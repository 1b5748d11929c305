/** Step timers: a scheduled attempt whose wait is over is sent, an attempt past its timeout concludes as `retry`. */

import { ReplyError } from '@ordo/protocol';
import { attemptTimeoutMs, isDue, isScheduled } from '../attempts/attempts';
import { stepSpec } from '../definition/definition';
import { Draft, record } from './draft';
import { DecideContext } from './inputs';
import { AttemptRules } from './protocol-rules';
import { TransactionState } from './transaction-state';

/**
 * Acts on every step timer due at `now`, earliest first: a scheduled attempt (backoff or
 * hold over) is sent, an attempt out past its timeout concludes as `retry`.
 */
export function fireDueTimers<S extends TransactionState>(draft: Draft<S>, ctx: DecideContext, rules: AttemptRules<S>): Draft<S> {
  const ids = ctx.definition.steps.map((spec) => spec.id);
  return dueSteps(draft.state, ids, ctx.now).reduce((current, id) => {
    const step = current.state.steps[id];
    // An earlier timer in this pass may have changed course (a rollback), cancelling this one.
    if (!isDue(step, ctx.now)) return current;
    if (isScheduled(step)) return rules.send(current, id, ctx);
    const [timedOut, error] = recordTimeout(current, id, attemptTimeoutMs(step, stepSpec(ctx.definition, id).timeoutMs));
    return rules.conclude(timedOut, id, 'retry', null, error, ctx);
  }, draft);
}

/** Ids of the steps whose timer is due at `now`, earliest first (ties in the given order). */
export function dueSteps(state: TransactionState, stepIds: readonly string[], now: number): string[] {
  const dueAt = (id: string): number => state.steps[id].dueAt ?? Infinity;
  return stepIds.filter((id) => dueAt(id) <= now).sort((a, b) => dueAt(a) - dueAt(b));
}

/** Records that the awaited attempt got no reply in time; returns the error to keep on the step. */
export function recordTimeout<S extends TransactionState>(draft: Draft<S>, stepId: string, timeoutMs: number): [Draft<S>, ReplyError] {
  const { phase, attempt } = draft.state.steps[stepId];
  const error = { code: 'TIMEOUT', message: `no reply to ${phase} attempt ${attempt} within ${timeoutMs} ms` };
  return [record(draft, { type: 'step.timed_out', stepId, phase, attempt }), error];
}
