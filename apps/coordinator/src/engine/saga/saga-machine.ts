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
import { ResolvedDefinition, ResolvedStep } from '../definition/definition';
import { accept, Decision, reject, RejectionCode } from '../transaction/decision';
import { Draft, record, updateStep } from '../transaction/draft';
import { DecideContext, OperatorEvent, TransactionEvent } from '../transaction/inputs';
import {
  earliest,
  findStep,
  RollbackCause,
  StepState,
  TransactionState,
} from '../transaction/transaction-state';
import {
  AttemptRules,
  beginPhase,
  concludeMustSucceed,
  dispatchStep,
  endAttempt,
  fireDueTimers,
  reopen,
  replayStuck,
  scheduleRetry,
  settle,
  startRollback,
  stepSpec,
} from '../transaction/transitions';
import { decideWith, initialState, MachineRules, OperatorEventOf } from '../transaction/machine';
import { isPending, operatorFailure } from '../transaction/operators';
import { idle } from '../attempts/attempts';

export type SagaStepState = StepState<SagaPhase>;
export type SagaState = TransactionState<SagaPhase>;
type SagaDraft = Draft<SagaState>;
type Operator<T extends OperatorEvent['type']> = OperatorEventOf<T>;

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
  return passed && rollbackBlocker(draft.state, ctx.definition) === null
    ? rollBack(draft, { kind: 'deadline' }, ctx)
    : draft;
}

// ---- after every event: whatever became possible ----

function propagate(draft: SagaDraft, ctx: DecideContext): SagaDraft {
  return [dispatchReady, compensateReady, settle].reduce((current, stage) => stage(current, ctx), draft);
}

function dispatchReady(draft: SagaDraft, ctx: DecideContext): SagaDraft {
  if (draft.state.status !== 'running') return draft;
  const ready = ctx.definition.steps.filter((spec) => isReady(draft.state, spec));
  const execute = (current: SagaDraft, spec: ResolvedStep): SagaDraft =>
    send(updateStep(current, spec.id, { status: 'running' }), spec.id, ctx);
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

function abort(draft: SagaDraft, { actor, reason }: Operator<'abort'>, ctx: DecideContext): Decision<SagaState> {
  const blocker = rollbackBlocker(draft.state, ctx.definition);
  if (blocker) return reject(blocker, ROLLBACK_BLOCKED[blocker]);
  const aborted = record(draft, { type: 'operator.aborted', actor, ...(reason && { reason }) });
  return accept(propagate(rollBack(aborted, { kind: 'aborted', actor }, ctx), ctx));
}

/** Re-drives every stuck step of a `failed` transaction with a fresh attempt budget. */
function replay(draft: SagaDraft, { actor }: Operator<'retry'>, ctx: DecideContext): Decision<SagaState> {
  if (draft.state.status !== 'failed') return reject('not_failed', 'only a failed transaction can be retried');
  const stuck = ctx.definition.steps.filter((spec) => isStuck(draft.state, spec.id));
  return accept(propagate(replayStuck(draft, actor, stuck, ctx, SAGA_ATTEMPTS), ctx));
}

/**
 * An operator fixed a stuck step by hand. `compensated` clears a failed compensation, or
 * declares that a pivot in doubt had no effect (the saga then rolls back); `succeeded` lets
 * a stuck forward step count as done.
 */
function resolve(draft: SagaDraft, event: Operator<'resolve'>, ctx: DecideContext): Decision<SagaState> {
  const { stepId, outcome, actor, note } = event;
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  if (!isStuck(draft.state, stepId)) return reject('step_not_stuck', `step ${stepId} is ${step.status}, not stuck`);
  const forward = step.status === 'failed';
  if (!forward && outcome === 'succeeded') {
    return reject('outcome_not_applicable', 'a failed compensation can only be resolved as compensated');
  }
  if (forward && outcome === 'compensated' && isCommitted(draft.state, ctx.definition)) {
    return reject('past_point_of_no_return', ROLLBACK_BLOCKED.past_point_of_no_return);
  }
  const noted = record(draft, { type: 'operator.resolved', actor, stepId, outcome, note });
  if (outcome === 'succeeded') return accept(propagate(reopen(succeed(noted, stepId, null, ctx)), ctx));
  const compensated = updateStep(noted, stepId, { status: 'compensated' });
  const next = forward ? rollBack(compensated, { kind: 'step_failed', stepId }, ctx) : reopen(compensated);
  return accept(propagate(next, ctx));
}

/**
 * An operator counts a forward step as succeeded with the output they give, so that its
 * dependents run (and read it): one not sent yet, one with an attempt out or scheduled
 * (a late reply to it is ignored), or one stuck after the commit. A skipped step is
 * compensated in a rollback if its execute went out. A pivot commits the saga when skipped,
 * so it may be skipped only when it could run: alone.
 */
function skip(draft: SagaDraft, { actor, stepId, output, note }: Operator<'skip'>, ctx: DecideContext): Decision<SagaState> {
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  const stuck = draft.state.status === 'failed' && isStuck(draft.state, stepId);
  if (draft.state.status !== 'running' && !stuck) return reject('not_running', 'only a saga moving forward can skip a step');
  if (!isPending(step) && !stuck) return reject('step_not_pending', `step ${stepId} is ${step.status} in its ${step.phase} phase`);
  const others = Object.entries(draft.state.steps).filter(([id]) => id !== stepId);
  if (isPivot(specOf(ctx, stepId)) && !others.every(([, other]) => other.status === 'pending' || other.status === 'succeeded')) {
    return reject('not_applicable', `step ${stepId} has no compensation: it may be skipped once every step started has succeeded`);
  }
  const noted = record(draft, { type: 'operator.skipped', actor, stepId, output, note });
  return accept(propagate(reopen(succeed(updateStep(noted, stepId, idle(step)), stepId, output, ctx)), ctx));
}

/**
 * An operator fails a forward step not answered yet: as a `failure` reply, the rollback
 * starts (and the step is compensated if its execute went out). Refused where an abort is.
 */
function failStep(draft: SagaDraft, { actor, stepId, note }: Operator<'fail_step'>, ctx: DecideContext): Decision<SagaState> {
  const step = findStep(draft.state, stepId);
  if (!step) return reject('unknown_step', `no step ${stepId}`);
  const blocker = rollbackBlocker(draft.state, ctx.definition);
  if (blocker) return reject(blocker, ROLLBACK_BLOCKED[blocker]);
  if (!isPending(step)) return reject('step_not_pending', `step ${stepId} is ${step.status} in its ${step.phase} phase`);
  const noted = record(draft, { type: 'operator.failed_step', actor, stepId, note });
  return accept(propagate(conclude(noted, stepId, 'failure', null, operatorFailure(note), ctx), ctx));
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
  return (
    state.steps[spec.id].status === 'pending' && spec.dependsOn.every((id) => state.steps[id].status === 'succeeded')
  );
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

const RULES: MachineRules<SagaState> = {
  attempts: SAGA_ATTEMPTS,
  propagate,
  timer: (draft, ctx) => enforceDeadline(fireDueTimers(draft, ctx, SAGA_ATTEMPTS), ctx),
  abort,
  replay,
  resolve,
  skip,
  failStep,
};
