/**
 * The saga algorithm, as a pure function: decide(state, event, ctx) -> { state, effects }.
 *
 * Forward. Every step whose dependencies have all succeeded is dispatched; ready steps run in
 * parallel. A `retry` reply or a timeout is retried with backoff until the step's attempt
 * budget is spent, which then counts as a failure of the step.
 *
 * Pivots. A step without `compensation` cannot be undone. It runs alone: only once every
 * step that has started has succeeded and no step with a compensation is ready, so nothing
 * can fail beside it. When a pivot succeeds the saga is committed: it never rolls back after
 * that (the deadline and abort no longer apply), and a step that then fails or runs out of
 * attempts stops the transaction as `failed` until an operator replays or resolves it. A
 * pivot that runs out of attempts may or may not have executed; it stops the transaction
 * the same way. A pivot that replies `failure` did nothing, so the saga rolls back.
 *
 * Rollback (a step failed before the commit, the deadline passed, or an operator aborted).
 * Steps never sent are skipped. Every step whose execute was sent is compensated, even one
 * that replied `failure`: the barrier makes that a null compensation and, above all, fences
 * off a late duplicate of the execute. A step with an attempt still out is compensated once
 * that attempt is answered or times out. A step is compensated only after each of its
 * dependents is compensated or needs nothing. Compensation must succeed: every outcome but
 * `success` is retried; a spent budget leaves the step `compensation_failed`, and the
 * transaction becomes `failed` once nothing else can progress.
 *
 * Holds. Every command first asks the shell's gate (ctx.gate), which protects participants:
 * refused, the step waits (`hold`) until the gate's retry time without using an attempt,
 * and is tried again then. A rollback drops a held execute like a scheduled retry; a step
 * held before its first attempt never ran, so it is skipped.
 *
 * Replies are applied only if they answer the attempt a step is waiting for. Time comes in
 * as ctx.now: the state holds every timer as a step's `dueAt` (plus the deadline), and a
 * `timer` event acts on whatever is due, so a stale timer cannot exist.
 */
import { JsonObject, Outcome, ReplyError, SagaPhase } from '@ordo/protocol';
import { directDependents } from '../dag/dag';
import { ResolvedDefinition, ResolvedStep, stepSpec } from '../definition/definition';
import { Decision, Rejection, RejectionCode } from '../transaction/decision';
import { dispatchStep } from '../transaction/dispatch';
import { Draft, record, updateStep } from '../transaction/draft';
import { DecideContext, ResolveOutcome, TransactionEvent } from '../transaction/inputs';
import { reopen, settle, startRollback } from '../transaction/lifecycle';
import { decideWith, initialState } from '../transaction/machine';
import { beginPhase, concludeMustSucceed, endAttempt, scheduleRetry } from '../transaction/phases';
import { AttemptRules, ProtocolRules } from '../transaction/protocol-rules';
import { fireDueTimers } from '../transaction/timers';
import { earliest, RollbackCause, StepState, TransactionState } from '../transaction/transaction-state';

export type SagaStepState = StepState<SagaPhase>;
export type SagaState = TransactionState<SagaPhase>;
type SagaDraft = Draft<SagaState>;

export function initialSagaState(definition: ResolvedDefinition): SagaState {
  return initialState(definition, 'execute');
}

export function decide(state: SagaState, event: TransactionEvent, ctx: DecideContext): Decision<SagaState> {
  return decideWith(RULES, state, event, ctx);
}

/** When the shell must next wake the transaction with a `timer` event; null: never. */
export function nextDueAt(state: SagaState, definition: ResolvedDefinition): number | null {
  return earliest(state, rollbackBlocker(state, definition) === null ? state.deadline : null);
}

// ---- time: only a `timer` event acts on it (step timers: the shared fireDueTimers) ----

function enforceDeadline(draft: SagaDraft, ctx: DecideContext): SagaDraft {
  const { deadline } = draft.state;
  const passed = deadline !== null && ctx.now >= deadline;
  return passed && rollbackBlocker(draft.state, ctx.definition) === null ? rollBack(draft, { kind: 'deadline' }, ctx) : draft;
}

// ---- after every event: whatever became possible ----

function propagate(draft: SagaDraft, ctx: DecideContext): SagaDraft {
  return [dispatchReady, compensateReady, settle].reduce((current, stage) => stage(current, ctx), draft);
}

function dispatchReady(draft: SagaDraft, ctx: DecideContext): SagaDraft {
  if (draft.state.status !== 'running') return draft;
  const ready = ctx.definition.steps.filter((spec) => isReady(draft.state, spec));
  const execute = (current: SagaDraft, spec: ResolvedStep): SagaDraft => send(updateStep(current, spec.id, { status: 'running' }), spec.id, ctx);
  if (isCommitted(draft.state, ctx.definition)) return ready.reduce(execute, draft);
  const dispatched = ready.filter((spec) => !isPivot(spec)).reduce(execute, draft);
  const pivot = ready.find(isPivot);
  return pivot && everyStartedStepSucceeded(dispatched.state) ? execute(dispatched, pivot) : dispatched;
}

function compensateReady(draft: SagaDraft, ctx: DecideContext): SagaDraft {
  if (draft.state.status !== 'compensating') return draft;
  return ctx.definition.steps
    .filter((spec) => awaitsCompensation(draft.state, spec) && dependentsSettled(draft.state, ctx.definition, spec.id))
    .reduce((current, { id }) => beginPhase(current, id, 'compensate', ctx, SAGA_ATTEMPTS), draft);
}

// ---- events ----

/** The attempt a step was waiting for ended: by a reply, or by a timeout (as `retry`). */
function conclude(
  draft: SagaDraft,
  id: string,
  outcome: Outcome,
  output: JsonObject | null,
  error: ReplyError | null,
  ctx: DecideContext,
): SagaDraft {
  const concluded = endAttempt(draft, id, error);
  if (draft.state.steps[id].phase === 'compensate') {
    return concludeMustSucceed(concluded, id, outcome, ctx, { done: 'compensated', gaveUp: 'compensation_failed' });
  }
  if (outcome === 'success') return succeed(concluded, id, output, ctx);
  const { retry } = specOf(ctx, id);
  // Rolling back already: no more execute attempts; the step is compensated next.
  if (draft.state.rollback) return outcome === 'failure' ? updateStep(concluded, id, { status: 'failed' }) : concluded;
  if (outcome === 'failure') return failForward(concluded, id, true, ctx);
  return scheduleRetry(concluded, id, retry, ctx) ?? failForward(concluded, id, false, ctx);
}

// Operator requests (the same for every protocol: transaction/operators.ts) follow these rules.

/**
 * An operator fixed a stuck step by hand. `compensated` clears a failed compensation, or
 * declares that a stuck forward step had no effect (the saga then rolls back, unless a pivot
 * has committed it); `succeeded` lets a stuck forward step count as done.
 */
function resolveRefusal(state: SagaState, id: string, outcome: ResolveOutcome, definition: ResolvedDefinition): Rejection | null {
  const forward = state.steps[id].status === 'failed';
  if (!forward && outcome === 'succeeded') {
    return { code: 'outcome_not_applicable', message: 'a failed compensation can only be resolved as compensated' };
  }
  if (forward && outcome === 'compensated' && isCommitted(state, definition)) {
    return { code: 'past_point_of_no_return', message: ROLLBACK_BLOCKED.past_point_of_no_return };
  }
  return null;
}

function resolveAs(draft: SagaDraft, id: string, outcome: ResolveOutcome, ctx: DecideContext): SagaDraft {
  if (outcome === 'succeeded') return reopen(succeed(draft, id, null, ctx));
  const forward = draft.state.steps[id].status === 'failed';
  const compensated = updateStep(draft, id, { status: 'compensated' });
  return forward ? rollBack(compensated, { kind: 'step_failed', stepId: id }, ctx) : reopen(compensated);
}

/**
 * Skipping a step commits the saga when it is a pivot, so a pivot may be skipped only when it
 * could run: alone. (A skipped step is compensated in a rollback if its execute went out.)
 */
function skipRefusal(state: SagaState, id: string, definition: ResolvedDefinition): Rejection | null {
  const others = Object.entries(state.steps).filter(([other]) => other !== id);
  if (isPivot(stepSpec(definition, id)) && !others.every(([, step]) => step.status === 'pending' || step.status === 'succeeded')) {
    return { code: 'not_applicable', message: `step ${id} has no compensation: it may be skipped once every step started has succeeded` };
  }
  return null;
}

// ---- transitions ----

/** Sends the next attempt of the step's current phase; a compensation gets the execute's input. */
function send(draft: SagaDraft, id: string, ctx: DecideContext): SagaDraft {
  const { action, compensation } = specOf(ctx, id);
  const command = draft.state.steps[id].phase === 'execute' ? action : compensation;
  if (command === null) throw new Error(`invariant: step ${id} has no compensation`);
  return dispatchStep(draft, id, command, ctx);
}

function succeed(draft: SagaDraft, id: string, output: JsonObject | null, ctx: DecideContext): SagaDraft {
  const commits = isPivot(specOf(ctx, id)) && !isCommitted(draft.state, ctx.definition);
  const succeeded = updateStep(draft, id, { status: 'succeeded', output });
  return commits ? record(succeeded, { type: 'transaction.committed', stepId: id }) : succeeded;
}

/** An execute ended without success while the saga moves forward. */
function failForward(draft: SagaDraft, id: string, definitive: boolean, ctx: DecideContext): SagaDraft {
  const failed = updateStep(draft, id, { status: 'failed' });
  const stuck = isCommitted(draft.state, ctx.definition) || (!definitive && isPivot(specOf(ctx, id)));
  return stuck ? failed : rollBack(failed, { kind: 'step_failed', stepId: id }, ctx);
}

/**
 * Steps never sent are skipped; a scheduled execute is dropped (the step is skipped if none
 * of its attempts went out); the others are compensated once their execute has ended.
 */
function rollBack(draft: SagaDraft, cause: RollbackCause, ctx: DecideContext): SagaDraft {
  return startRollback(draft, cause, ctx);
}

// ---- rules ----

const ROLLBACK_BLOCKED = {
  not_running: 'only a running transaction can be rolled back',
  past_point_of_no_return: 'a step without compensation has succeeded: the transaction can only move forward',
  pivot_in_flight: 'a step without compensation is in flight: its outcome decides whether a rollback is possible',
} as const satisfies Partial<Record<RejectionCode, string>>;

function rollbackRefusal(state: SagaState, definition: ResolvedDefinition): Rejection | null {
  const blocker = rollbackBlocker(state, definition);
  return blocker && { code: blocker, message: ROLLBACK_BLOCKED[blocker] };
}

function rollbackBlocker(state: SagaState, definition: ResolvedDefinition): keyof typeof ROLLBACK_BLOCKED | null {
  if (state.status !== 'running') return 'not_running';
  if (isCommitted(state, definition)) return 'past_point_of_no_return';
  // A pivot held back before its first attempt has not run: it does not block a rollback.
  const pivotInFlight = definition.steps.some((spec) => {
    const { waitingFor, attempt } = state.steps[spec.id];
    return isPivot(spec) && waitingFor !== null && attempt > 0;
  });
  return pivotInFlight ? 'pivot_in_flight' : null;
}

function isPivot(spec: ResolvedStep): boolean {
  return spec.compensation === null;
}

function isCommitted(state: SagaState, definition: ResolvedDefinition): boolean {
  return definition.steps.some((spec) => isPivot(spec) && state.steps[spec.id].status === 'succeeded');
}

function isReady(state: SagaState, spec: ResolvedStep): boolean {
  return state.steps[spec.id].status === 'pending' && spec.dependsOn.every((id) => state.steps[id].status === 'succeeded');
}

function everyStartedStepSucceeded(state: SagaState): boolean {
  return Object.values(state.steps).every((step) => step.status === 'pending' || step.status === 'succeeded');
}

/** Its execute was sent and has ended, and it has a compensation that has not started. */
function awaitsCompensation(state: SagaState, spec: ResolvedStep): boolean {
  const step = state.steps[spec.id];
  return !isPivot(spec) && step.phase === 'execute' && step.attempt > 0 && step.waitingFor === null;
}

/**
 * Every dependent is compensated or needs nothing (never sent: skipped, or refused as too
 * large to send), so the step may be compensated.
 */
function dependentsSettled(state: SagaState, definition: ResolvedDefinition, id: string): boolean {
  return directDependents(definition.steps, id).every((spec) => {
    const { status, waitingFor, attempt } = state.steps[spec.id];
    const neverSent = attempt === 0 && waitingFor === null;
    return status === 'skipped' || status === 'compensated' || neverSent || (isPivot(spec) && waitingFor === null);
  });
}

/** Waits for an operator: a compensation out of attempts, or a forward step that may not roll back. */
function isStuck(state: SagaState, id: string): boolean {
  const { status } = state.steps[id];
  return status === 'compensation_failed' || (status === 'failed' && state.rollback === null);
}

function specOf(ctx: DecideContext, id: string): ResolvedStep {
  return stepSpec(ctx.definition, id);
}

const SAGA_ATTEMPTS: AttemptRules<SagaState> = { send, conclude };

const RULES: ProtocolRules<SagaState> = {
  attempts: SAGA_ATTEMPTS,
  propagate,
  timer: (draft, ctx) => enforceDeadline(fireDueTimers(draft, ctx, SAGA_ATTEMPTS), ctx),
  rollbackBlocker: rollbackRefusal,
  rollBack,
  isStuck,
  resolveRefusal,
  resolveAs,
  // As a `failure` reply: the rollback starts, and the step is compensated if its execute went out.
  failPending: (draft, id, error, ctx) => conclude(draft, id, 'failure', null, error, ctx),
  skip: { refusal: skipRefusal, succeed },
  // A compensation undoes what its execute did with the input it carried, edited or not.
  editablePhases: ['execute', 'compensate'],
};
