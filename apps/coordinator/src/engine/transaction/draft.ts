import { Effect } from './effects';
import { HistoryEvent } from './history';
import { hasEnded, RollbackCause, StepState, TransactionState, TxStatus } from './transaction-state';

/** A decision under construction: each helper returns a new draft, never mutating the old. */
export interface Draft<S> {
  readonly state: S;
  readonly effects: readonly Effect[];
}

export function draftOf<S>(state: S): Draft<S> {
  return { state, effects: [] };
}

export function emit<S>(draft: Draft<S>, effect: Effect): Draft<S> {
  return { ...draft, effects: [...draft.effects, effect] };
}

export function record<S>(draft: Draft<S>, event: HistoryEvent): Draft<S> {
  return emit(draft, { kind: 'record', event });
}

/** Patches one step, recording its status change if there is one. */
export function updateStep<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  patch: Partial<StepState<S['steps'][string]['phase']>>,
): Draft<S> {
  const before = draft.state.steps[stepId];
  const after = { ...before, ...patch };
  const updated = { ...draft, state: { ...draft.state, steps: { ...draft.state.steps, [stepId]: after } } };
  return before.status === after.status ? updated : record(updated, { type: 'step.status_changed', stepId, from: before.status, to: after.status });
}

/**
 * Changes the transaction status, recording it; a rollback cause is kept on the state. A
 * transaction that ends while paused (its last replies came in) is paused no more.
 */
export function setStatus<S extends TransactionState>(draft: Draft<S>, status: TxStatus, cause?: RollbackCause): Draft<S> {
  if (draft.state.status === status) return draft;
  const from = draft.state.status;
  const state = { ...draft.state, status, ...(cause && { rollback: cause }), ...(hasEnded(status) && { paused: null }) };
  return record({ ...draft, state }, { type: 'transaction.status_changed', from, to: status, ...(cause && { cause }) });
}
