/**
 * Try-Confirm-Cancel, as a pure function: decide(state, event, ctx) -> { state, effects }.
 *
 * Try. Every step is sent `try` once each step it `dependsOn` has been tried successfully;
 * independent steps are tried in parallel. A `retry` reply or a timeout is retried with
 * backoff; a `failure` reply (a refusal) or a spent budget counts as a failed try.
 *
 * Confirm. When every try has succeeded, before the deadline, the transaction is committed:
 * `transaction.decided` (commit) is recorded and every step is sent `confirm` at once. The
 * decision is final: the deadline and abort no longer apply.
 *
 * Cancel. A failed try, the deadline, or an operator abort (all only before the commit)
 * decide to cancel (`transaction.decided`, abort). Steps whose try was never sent are
 * skipped; every other step is sent `cancel` at once, or, when its try is still out, as soon
 * as that try is answered or times out. That includes a step whose try was refused: the
 * participant's barrier makes it a null cancel, and it fences off a late duplicate try.
 *
 * Confirm and cancel must succeed: every outcome but `success` is retried with backoff. A
 * spent budget leaves the step `failed` (confirm) or `compensation_failed` (cancel), and the
 * transaction `failed` once nothing else is in flight, until an operator replays or
 * resolves it. Every phase of a step carries the step's `action` and the try's input.
 *
 * Holds (gate refusals), stale replies and timers behave as in the saga: see saga-machine.ts.
 */
import { JsonObject, Outcome, ReplyError, TccPhase } from '@ordo/protocol';
import { ResolvedDefinition, ResolvedStep, stepSpec } from '../definition/definition';
import { Decision, Rejection, RejectionCode } from '../transaction/decision';
import { Draft, record, updateStep } from '../transaction/draft';
import { DecideContext, ResolveOutcome, TransactionEvent } from '../transaction/inputs';
import { earliest, RollbackCause, StepState, TransactionState } from '../transaction/transaction-state';
import { dispatchStep } from '../transaction/dispatch';
import { settle, startRollback } from '../transaction/lifecycle';
import { decideWith, initialState } from '../transaction/machine';
import { takeOutcome } from '../transaction/operators';
import { beginPhase, concludeMustSucceed, endAttempt, scheduleRetry } from '../transaction/phases';
import { AttemptRules, ProtocolRules } from '../transaction/protocol-rules';
import { fireDueTimers } from '../transaction/timers';

export type TccStepState = StepState<TccPhase>;
export type TccState = TransactionState<TccPhase>;
type TccDraft = Draft<TccState>;

export function initialTccState(definition: ResolvedDefinition): TccState {
  return initialState(definition, 'try');
}

export function decide(state: TccState, event: TransactionEvent, ctx: DecideContext): Decision<TccState> {
  return decideWith(RULES, state, event, ctx);
}

/** When the shell must next wake the transaction with a `timer` event; null: never. */
export function nextDueAt(state: TccState, _definition?: ResolvedDefinition): number | null {
  return earliest(state, rollbackBlocker(state) === null ? state.deadline : null);
}

// ---- time ----

function enforceDeadline(draft: TccDraft, ctx: DecideContext): TccDraft {
  return deadlinePassed(draft.state, ctx) && rollbackBlocker(draft.state) === null ? rollBack(draft, { kind: 'deadline' }, ctx) : draft;
}

// ---- after every event: whatever became possible ----

function propagate(draft: TccDraft, ctx: DecideContext): TccDraft {
  return [tryReady, decideWhenAllTried, cancelReady, settle].reduce((current, stage) => stage(current, ctx), draft);
}

function tryReady(draft: TccDraft, ctx: DecideContext): TccDraft {
  if (draft.state.status !== 'running') return draft;
  return ctx.definition.steps
    .filter((spec) => isReady(draft.state, spec))
    .reduce((current, { id }) => send(updateStep(current, id, { status: 'running' }), id, ctx), draft);
}

/** Every try succeeded: confirm all, unless the deadline passed first (then cancel all). */
function decideWhenAllTried(draft: TccDraft, ctx: DecideContext): TccDraft {
  const { state } = draft;
  const allTried = Object.values(state.steps).every((step) => step.phase === 'try' && step.status === 'succeeded');
  if (state.status !== 'running' || !allTried) return draft;
  if (deadlinePassed(state, ctx)) return rollBack(draft, { kind: 'deadline' }, ctx);
  const committed = record(draft, { type: 'transaction.decided', decision: 'commit' });
  return ctx.definition.steps.reduce((current, { id }) => beginPhase(current, id, 'confirm', ctx, TCC_ATTEMPTS), committed);
}

function cancelReady(draft: TccDraft, ctx: DecideContext): TccDraft {
  if (draft.state.status !== 'compensating') return draft;
  return ctx.definition.steps
    .filter((spec) => awaitsCancel(draft.state.steps[spec.id]))
    .reduce((current, { id }) => beginPhase(current, id, 'cancel', ctx, TCC_ATTEMPTS), draft);
}

// ---- events ----

/** The attempt a step was waiting for ended: by a reply, or by a timeout (as `retry`). */
function conclude(draft: TccDraft, id: string, outcome: Outcome, output: JsonObject | null, error: ReplyError | null, ctx: DecideContext): TccDraft {
  const concluded = endAttempt(draft, id, error);
  switch (draft.state.steps[id].phase) {
    case 'confirm':
      return concludeMustSucceed(concluded, id, outcome, ctx, { done: 'succeeded', gaveUp: 'failed' });
    case 'cancel':
      return concludeMustSucceed(concluded, id, outcome, ctx, { done: 'compensated', gaveUp: 'compensation_failed' });
    case 'try': {
      if (outcome === 'success') return updateStep(concluded, id, { status: 'succeeded', output });
      // Cancelling already: no more try attempts; the step is cancelled next.
      if (draft.state.rollback) return outcome === 'failure' ? updateStep(concluded, id, { status: 'failed' }) : concluded;
      const retried = outcome === 'retry' ? scheduleRetry(concluded, id, stepSpec(ctx.definition, id).retry, ctx) : null;
      return retried ?? rollBack(updateStep(concluded, id, { status: 'failed' }), { kind: 'step_failed', stepId: id }, ctx);
    }
  }
}

// Operator requests (the same for every protocol: transaction/operators.ts) follow these rules.

function abortBlocker(state: TccState): Rejection | null {
  const blocker = rollbackBlocker(state);
  return blocker && { code: blocker, message: ROLLBACK_BLOCKED[blocker] };
}

/**
 * An operator fixed a stuck step by hand: a failed cancel counts as `compensated`, a failed
 * confirm as `succeeded`. The other way round is refused: the decision is final.
 */
function resolveRefusal(step: TccStepState, outcome: ResolveOutcome): Rejection | null {
  if (step.phase === 'cancel' && outcome === 'succeeded') {
    return { code: 'outcome_not_applicable', message: 'a failed cancel can only be resolved as compensated' };
  }
  if (step.phase === 'confirm' && outcome === 'compensated') {
    return { code: 'past_point_of_no_return', message: ROLLBACK_BLOCKED.past_point_of_no_return };
  }
  return null;
}

// ---- transitions ----

/** Every phase sends the step's action, with the try's input. */
function send(draft: TccDraft, id: string, ctx: DecideContext): TccDraft {
  return dispatchStep(draft, id, stepSpec(ctx.definition, id).action, ctx);
}

function rollBack(draft: TccDraft, cause: RollbackCause, ctx: DecideContext): TccDraft {
  return startRollback(record(draft, { type: 'transaction.decided', decision: 'abort' }), cause, ctx);
}

const TCC_ATTEMPTS: AttemptRules<TccState> = { send, conclude };

const RULES: ProtocolRules<TccState> = {
  attempts: TCC_ATTEMPTS,
  propagate,
  // The deadline first: a try due at the same time is then dropped instead of sent.
  timer: (draft, ctx) => fireDueTimers(enforceDeadline(draft, ctx), ctx, TCC_ATTEMPTS),
  rollbackBlocker: abortBlocker,
  rollBack,
  isStuck: (state, id) => isStuck(state.steps[id]),
  resolveRefusal: (state, id, outcome) => resolveRefusal(state.steps[id], outcome),
  resolveAs: takeOutcome,
  // As a refused try: cancelled if it was sent.
  failPending: (draft, id, error, ctx) => conclude(draft, id, 'failure', null, error, ctx),
  skip: null,
  // Confirm and cancel act on what the try reserved: they carry the try's input.
  editablePhases: ['try'],
};

// ---- rules ----

const ROLLBACK_BLOCKED = {
  not_running: 'only a running transaction can be cancelled',
  past_point_of_no_return: 'every try succeeded and the transaction is confirming: it can only move forward',
} as const satisfies Partial<Record<RejectionCode, string>>;

function rollbackBlocker(state: TccState): keyof typeof ROLLBACK_BLOCKED | null {
  if (state.status !== 'running') return 'not_running';
  return isCommitted(state) ? 'past_point_of_no_return' : null;
}

/** Confirming started: every step moved to `confirm` together, and never leaves it. */
function isCommitted(state: TccState): boolean {
  return Object.values(state.steps).some((step) => step.phase === 'confirm');
}

function deadlinePassed(state: TccState, ctx: DecideContext): boolean {
  return state.deadline !== null && ctx.now >= state.deadline;
}

function isReady(state: TccState, spec: ResolvedStep): boolean {
  return state.steps[spec.id].status === 'pending' && spec.dependsOn.every((id) => state.steps[id].status === 'succeeded');
}

/** Its try was sent and has ended, and its cancel has not started. */
function awaitsCancel(step: TccStepState): boolean {
  return step.phase === 'try' && step.attempt > 0 && step.waitingFor === null && step.status !== 'skipped';
}

/** Waits for an operator: a confirm or a cancel out of attempts. */
function isStuck(step: TccStepState): boolean {
  return step.status === 'compensation_failed' || (step.phase === 'confirm' && step.status === 'failed');
}
