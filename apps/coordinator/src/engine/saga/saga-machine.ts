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
import { freshAttempts, idle, isDue, isScheduled, refill } from '../attempts/attempts';
import { directDependents } from '../dag/dag';
import { ResolvedDefinition, ResolvedStep } from '../definition/definition';
import { resolveInput } from '../definition/input-mapping';
import { accept, Decision, reject, RejectionCode } from '../transaction/decision';
import { Draft, draftOf, record, setStatus, updateStep } from '../transaction/draft';
import { DecideContext, OperatorEvent, StepReply, TransactionEvent } from '../transaction/inputs';
import {
  earliest,
  findStep,
  hasWorkInFlight,
  RollbackCause,
  StepState,
  stepOutputs,
  TransactionState,
} from '../transaction/transaction-state';
import {
  dispatchAttempt,
  dueSteps,
  ignoredReplyReason,
  recordTimeout,
  reopen,
  scheduleRetry,
  startTransaction,
} from '../transaction/transitions';

export type SagaStepState = StepState<SagaPhase>;
export type SagaState = TransactionState<SagaPhase>;
type SagaDraft = Draft<SagaState>;
type Operator<T extends OperatorEvent['type']> = Extract<OperatorEvent, { type: T }>;

export function initialSagaState(definition: ResolvedDefinition): SagaState {
  const pending = (step: ResolvedStep): SagaStepState => ({
    ...freshAttempts<SagaPhase>('execute', step.retry.maxAttempts),
    status: 'pending',
    output: null,
    lastError: null,
  });
  return {
    status: 'running',
    startedAt: null,
    deadline: null,
    rollback: null,
    steps: Object.fromEntries(definition.steps.map((step) => [step.id, pending(step)])),
  };
}

export function decide(state: SagaState, event: TransactionEvent, ctx: DecideContext): Decision<SagaState> {
  const draft = draftOf(state);
  if (event.type === 'started') {
    return state.startedAt === null
      ? accept(propagate(startTransaction(draft, ctx), ctx))
      : reject('already_started', 'the transaction has already started');
  }
  if (state.startedAt === null) return reject('not_started', 'the transaction has not started');
  switch (event.type) {
    case 'reply':
      return accept(propagate(applyReply(draft, event, ctx), ctx));
    case 'timer':
      return accept(propagate(enforceDeadline(fireTimers(draft, ctx), ctx), ctx));
    case 'abort':
      return abort(draft, event, ctx);
    case 'retry':
      return replay(draft, event, ctx);
    case 'resolve':
      return resolve(draft, event, ctx);
  }
}

/** When the shell must next wake the transaction with a `timer` event; null: never. */
export function nextDueAt(state: SagaState, definition: ResolvedDefinition): number | null {
  return earliest(state, rollbackBlocker(state, definition) === null ? state.deadline : null);
}

// ---- time: only a `timer` event acts on it ----

function fireTimers(draft: SagaDraft, ctx: DecideContext): SagaDraft {
  const ids = ctx.definition.steps.map((spec) => spec.id);
  return dueSteps(draft.state, ids, ctx.now).reduce((current, id) => fireTimer(current, id, ctx), draft);
}

function fireTimer(draft: SagaDraft, id: string, ctx: DecideContext): SagaDraft {
  const step = draft.state.steps[id];
  // An earlier timer in this pass may have started the rollback, cancelling this one.
  if (!isDue(step, ctx.now)) return draft;
  if (isScheduled(step)) return send(draft, id, ctx);
  const [timedOut, error] = recordTimeout(draft, id, specOf(ctx, id).timeoutMs);
  return conclude(timedOut, id, 'retry', null, error, ctx);
}

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
  const compensate = (current: SagaDraft, spec: ResolvedStep): SagaDraft => {
    const attempts = freshAttempts<SagaPhase>('compensate', spec.retry.maxAttempts);
    return send(updateStep(current, spec.id, { ...attempts, status: 'compensating' }), spec.id, ctx);
  };
  return ctx.definition.steps
    .filter((spec) => awaitsCompensation(draft.state, spec) && dependentsSettled(draft.state, ctx.definition, spec.id))
    .reduce(compensate, draft);
}

function settle(draft: SagaDraft): SagaDraft {
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

// ---- events ----

function applyReply(draft: SagaDraft, reply: StepReply, ctx: DecideContext): SagaDraft {
  const { stepId, phase, attempt, outcome, error } = reply;
  const reason = ignoredReplyReason(draft.state, reply);
  if (reason) return record(draft, { type: 'step.reply_ignored', stepId, phase, attempt, outcome, reason });
  const replied = record(draft, { type: 'step.replied', stepId, phase, attempt, outcome, ...(error && { error }) });
  return conclude(replied, stepId, outcome, reply.output ?? null, error ?? null, ctx);
}

/** The attempt a step was waiting for ended: by a reply, or by a timeout (as `retry`). */
function conclude(
  draft: SagaDraft,
  id: string,
  outcome: Outcome,
  output: JsonObject | null,
  error: ReplyError | null,
  ctx: DecideContext,
): SagaDraft {
  const step = draft.state.steps[id];
  const { retry } = specOf(ctx, id);
  const concluded = updateStep(draft, id, { ...idle(step), lastError: error ?? step.lastError });
  if (step.phase === 'compensate') {
    if (outcome === 'success') return updateStep(concluded, id, { status: 'compensated' });
    return scheduleRetry(concluded, id, retry, ctx) ?? updateStep(concluded, id, { status: 'compensation_failed' });
  }
  if (outcome === 'success') return succeed(concluded, id, output, ctx);
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
  const replayed = reopen(record(draft, { type: 'operator.retried', actor, stepIds: stuck.map((spec) => spec.id) }));
  const redriven = stuck.reduce((current, spec) => {
    const step = current.state.steps[spec.id];
    const status = step.phase === 'execute' ? 'running' : 'compensating';
    return send(updateStep(current, spec.id, { ...refill(step, spec.retry.maxAttempts), status }), spec.id, ctx);
  }, replayed);
  return accept(propagate(redriven, ctx));
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

// ---- transitions ----

/** Sends the next attempt of the step's current phase; a compensation gets the execute's input. */
function send(draft: SagaDraft, id: string, ctx: DecideContext): SagaDraft {
  const { participant, action, compensation, input, timeoutMs } = specOf(ctx, id);
  const command = draft.state.steps[id].phase === 'execute' ? action : compensation;
  if (command === null) throw new Error(`invariant: step ${id} has no compensation`);
  const resolved = resolveInput(input, ctx.input, stepOutputs(draft.state));
  return dispatchAttempt(draft, id, { participant, action: command, input: resolved, timeoutMs }, ctx);
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

function rollBack(draft: SagaDraft, cause: RollbackCause, ctx: DecideContext): SagaDraft {
  return ctx.definition.steps.reduce((current, { id }) => {
    const step = current.state.steps[id];
    if (step.status === 'pending') return updateStep(current, id, { status: 'skipped' });
    if (step.phase === 'execute' && isScheduled(step)) {
      // The next execute is dropped. A step none of whose attempts went out (held from the
      // start) did nothing and is skipped; the others are compensated.
      const dropped = updateStep(current, id, idle(step));
      return step.attempt === 0 ? updateStep(dropped, id, { status: 'skipped' }) : dropped;
    }
    return current;
  }, setStatus(draft, 'compensating', cause));
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

/** Every dependent is compensated or needs nothing, so the step may be compensated. */
function dependentsSettled(state: SagaState, definition: ResolvedDefinition, id: string): boolean {
  return directDependents(definition.steps, id).every((spec) => {
    const { status, waitingFor } = state.steps[spec.id];
    return status === 'skipped' || status === 'compensated' || (isPivot(spec) && waitingFor === null);
  });
}

/** Waits for an operator: a compensation out of attempts, or a forward step that may not roll back. */
function isStuck(state: SagaState, id: string): boolean {
  const { status } = state.steps[id];
  return status === 'compensation_failed' || (status === 'failed' && state.rollback === null);
}

function specOf(ctx: DecideContext, id: string): ResolvedStep {
  const spec = ctx.definition.steps.find((step) => step.id === id);
  if (!spec) throw new Error(`invariant: step ${id} is not in definition ${ctx.definition.name}`);
  return spec;
}
