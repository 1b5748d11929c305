import { Draft } from './draft';
import { Effect } from './effects';

/**
 * Why an operator request or an out-of-place event was refused. The shell answers 404 for
 * `unknown_step` and 409 for the others, and writes nothing.
 */
export type RejectionCode =
  | 'not_started'
  | 'already_started'
  | 'not_running'
  | 'not_failed'
  | 'unknown_step'
  | 'step_not_stuck'
  | 'outcome_not_applicable'
  | 'past_point_of_no_return'
  | 'pivot_in_flight'
  | 'already_paused'
  | 'not_paused'
  | 'paused'
  | 'step_not_scheduled'
  | 'step_not_active'
  | 'step_not_pending'
  | 'step_not_retriable'
  | 'not_applicable';

export interface Rejection {
  readonly code: RejectionCode;
  readonly message: string;
}

/**
 * The result of applying one event: the next state and the effects to persist with it in one
 * database transaction, or a rejection that leaves everything as it was.
 */
export type Decision<S> =
  { readonly accepted: true; readonly state: S; readonly effects: readonly Effect[] } | { readonly accepted: false; readonly rejection: Rejection };

export function accept<S>(draft: Draft<S>): Decision<S> {
  return { accepted: true, ...draft };
}

export function reject<S>(code: RejectionCode, message: string): Decision<S> {
  return { accepted: false, rejection: { code, message } };
}
