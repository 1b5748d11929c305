/** A transaction's course, the same in every protocol: started, rolling back, reopened by an operator, settled. */

import { isForwardPhase } from '@ordo/protocol';
import { idle, isScheduled } from '../attempts/attempts';
import { Draft, record, setStatus, updateStep } from './draft';
import { DecideContext } from './inputs';
import { hasWorkInFlight, RollbackCause, TransactionState } from './transaction-state';

export function startTransaction<S extends TransactionState>(draft: Draft<S>, actor: string, ctx: DecideContext): Draft<S> {
  const { timeoutMs } = ctx.definition;
  const deadline = timeoutMs === null ? null : ctx.now + timeoutMs;
  const started = { ...draft, state: { ...draft.state, startedAt: ctx.now, deadline } };
  return record(started, { type: 'transaction.started', deadline, actor });
}

/**
 * Starts a rollback: steps never started are skipped; a forward attempt that is scheduled
 * (backoff or hold) is dropped, and the step skipped if none of its attempts went out. Steps
 * with a forward attempt out keep waiting for it; undoing them is the machine's business.
 */
export function startRollback<S extends TransactionState>(draft: Draft<S>, cause: RollbackCause, ctx: DecideContext): Draft<S> {
  return ctx.definition.steps.reduce(
    (current, { id }) => {
      const step = current.state.steps[id];
      if (step.status === 'pending') return updateStep(current, id, { status: 'skipped' });
      if (isForwardPhase(step.phase) && isScheduled(step)) {
        const dropped = updateStep(current, id, idle(step));
        return step.attempt === 0 ? updateStep(dropped, id, { status: 'skipped' }) : dropped;
      }
      return current;
    },
    setStatus(draft, 'compensating', cause),
  );
}

/** Back from `failed` after an operator action, in the direction the transaction was going. */
export function reopen<S extends TransactionState>(draft: Draft<S>): Draft<S> {
  return draft.state.status === 'failed' ? setStatus(draft, draft.state.rollback ? 'compensating' : 'running') : draft;
}

/**
 * Once nothing is in flight: a transaction moving forward is `completed` if every step
 * succeeded, else `failed`; a rollback is `compensated`, or `failed` if an undo gave up.
 */
export function settle<S extends TransactionState>(draft: Draft<S>): Draft<S> {
  if (hasWorkInFlight(draft.state)) return draft;
  const steps = Object.values(draft.state.steps);
  switch (draft.state.status) {
    case 'running':
      return setStatus(draft, steps.every((step) => step.status === 'succeeded') ? 'completed' : 'failed');
    case 'compensating':
      return setStatus(draft, steps.some((step) => step.status === 'compensation_failed') ? 'failed' : 'compensated');
    default:
      return draft;
  }
}
