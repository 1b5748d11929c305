import { JsonObject, Phase, ReplyError } from '@ordo/protocol';
import { AttemptState } from '../attempts/attempts';

export const TX_STATUSES = ['running', 'compensating', 'completed', 'compensated', 'failed'] as const;
export type TxStatus = (typeof TX_STATUSES)[number];

export const STEP_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'compensating', 'compensated', 'compensation_failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Why a transaction rolls back. */
export type RollbackCause =
  { readonly kind: 'step_failed'; readonly stepId: string } | { readonly kind: 'deadline' } | { readonly kind: 'aborted'; readonly actor: string };

export interface StepState<P extends Phase = Phase> extends AttemptState<P> {
  readonly status: StepStatus;
  readonly output: JsonObject | null;
  readonly lastError: ReplyError | null;
  /**
   * The input an operator set for the step's commands (edit and retry), which every later
   * command of the step carries instead of its mapped input; absent: the mapped input.
   */
  readonly input?: JsonObject;
}

/**
 * A paused transaction's clock stands still: it sends no command and none of its timers
 * (step timeouts, retries, holds, the deadline) runs, while replies are still applied. It
 * decides as of `since`; resuming moves every timer on by the time paused (pause.ts).
 */
export interface Pause {
  /** When its clock stopped, ms since the epoch. */
  readonly since: number;
  /** The operator who paused it; null when only paused participants hold it. */
  readonly actor: string | null;
  /** Paused participants it has a command for: it resumes once none is left (and no operator holds it). */
  readonly participants: readonly string[];
}

export interface TransactionState<P extends Phase = Phase> {
  readonly status: TxStatus;
  /** Null unless paused. */
  readonly paused: Pause | null;
  /** Null until the `started` event. */
  readonly startedAt: number | null;
  readonly deadline: number | null;
  /** Set when the rollback begins and kept afterwards; null while moving forward. */
  readonly rollback: RollbackCause | null;
  readonly steps: Readonly<Record<string, StepState<P>>>;
}

/** Completed or compensated: nothing can change any more. `failed` still awaits an operator. */
export function isFinished(status: TxStatus): boolean {
  return status === 'completed' || status === 'compensated';
}

/** Nothing will change without an operator: finished, or `failed`. What a caller waiting for the outcome waits for. */
export function hasEnded(status: TxStatus): boolean {
  return isFinished(status) || status === 'failed';
}

/** The step with this id; undefined for unknown ids (including `__proto__` and the like). */
export function findStep<P extends Phase>(state: TransactionState<P>, stepId: string): StepState<P> | undefined {
  return Object.hasOwn(state.steps, stepId) ? state.steps[stepId] : undefined;
}

export function stepOutputs(state: TransactionState): Record<string, JsonObject | null> {
  return Object.fromEntries(Object.entries(state.steps).map(([id, step]) => [id, step.output]));
}

/** True when some step has an attempt out or a retry scheduled. */
export function hasWorkInFlight(state: TransactionState): boolean {
  return Object.values(state.steps).some((step) => step.waitingFor !== null);
}

/** The earliest due time among the steps and the given extra instants; none while paused (no timer runs). */
export function earliest(state: TransactionState, ...instants: readonly (number | null)[]): number | null {
  if (state.paused) return null;
  const due = [...Object.values(state.steps).map((step) => step.dueAt), ...instants].filter((instant): instant is number => instant !== null);
  return due.length === 0 ? null : Math.min(...due);
}
