/**
 * Two-phase commit, as a pure function: decide(state, event, ctx) -> { state, effects }.
 *
 * Voting. Every step is sent `prepare` (in parallel; a step waits until each step it
 * `dependsOn` has voted yes). A `success` reply is a YES vote, a `failure` reply a NO vote.
 * A `retry` reply or a timeout is retried with backoff; a prepare that spends its budget
 * counts against the transaction, as do the deadline and an operator abort.
 *
 * The decision. Once every step has voted yes (and the deadline has not passed) the decision
 * is COMMIT: `state.decision` becomes 'commit' and `transaction.decided` is recorded in the
 * same decision whose effects send the first commit commands, before them. The shell writes a
 * decision's state, history and outbox in one database transaction, so the decision is
 * durable before any commit can leave. Anything else decides ABORT. Presumed abort: without
 * a recorded decision the answer to a participant in doubt is abort, unless the vote is still
 * open (`decisionOf`).
 *
 * Phase two. After COMMIT, every step is sent `commit`; after ABORT, every step whose
 * prepare may have run (it voted yes, or an attempt went out and no NO came back) is sent
 * `abort` at once — a prepare still out is fenced off by the participant's barrier. A step
 * whose prepare never went out is `skipped`; a NO voter prepared nothing and gets no abort.
 * Commit and abort must succeed: every outcome but `success` is retried with backoff; a spent
 * budget leaves the step `failed` (commit) or `compensation_failed` (abort), and the
 * transaction `failed` once nothing else is in flight, for an operator to retry or resolve.
 * After COMMIT the deadline and abort no longer apply.
 *
 * Holds (gate refusals), stale replies and timers behave as in the saga: see saga-machine.ts.
 */
import { JsonObject, Outcome, ReplyError, TwoPcPhase } from '@ordo/protocol';
import { ResolvedDefinition, stepSpec } from '../definition/definition';
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

export type TwoPcDecision = 'commit' | 'abort';
export type TwoPcStepState = StepState<TwoPcPhase>;
export interface TwoPcState extends TransactionState<TwoPcPhase> {
  /**
   * The global decision; null while the vote is open. Set once, never changed. The shell
   * must persist it with the rest of the state (see README.md).
   */
  readonly decision: TwoPcDecision | null;
}
type TwoPcDraft = Draft<TwoPcState>;

export function initialTwoPcState(definition: ResolvedDefinition): TwoPcState {
  return { ...initialState(definition, 'prepare'), decision: null };
}

export function decide(state: TwoPcState, event: TransactionEvent, ctx: DecideContext): Decision<TwoPcState> {
  return decideWith(RULES, state, event, ctx);
}

/** When the shell must next wake the transaction with a `timer` event; null: never. */
export function nextDueAt(state: TwoPcState, definition: ResolvedDefinition): number | null {
  void definition; // the same signature as every protocol's
  return earliest(state, isVoting(state) ? state.deadline : null);
}

/**
 * What to tell a participant in doubt (prepared, asking for the outcome): the recorded
 * decision; `pending` while the vote is open (ask again later); and, presumed abort, `abort`
 * for any state without a recorded decision that is no longer voting. (A transaction the
 * coordinator has no record of at all is presumed aborted too: that is the caller's case.)
 */
export function decisionOf(state: Pick<TwoPcState, 'decision' | 'status'>): TwoPcDecision | 'pending' {
  if (state.decision !== null) return state.decision;
  return state.status === 'running' ? 'pending' : 'abort';
}

// ---- after every event: whatever became possible ----

function propagate(draft: TwoPcDraft, ctx: DecideContext): TwoPcDraft {
  return [enforceDeadline, decideCommit, prepareReady, settle].reduce((current, stage) => stage(current, ctx), draft);
}

/** The deadline ends the vote (checked on every event, so a late last YES cannot commit). */
function enforceDeadline(draft: TwoPcDraft, ctx: DecideContext): TwoPcDraft {
  const { deadline } = draft.state;
  const passed = deadline !== null && ctx.now >= deadline;
  return passed && isVoting(draft.state) ? abortAll(draft, { kind: 'deadline' }, ctx) : draft;
}

/** Every step voted yes: the decision COMMIT is recorded, then every commit is sent. */
function decideCommit(draft: TwoPcDraft, ctx: DecideContext): TwoPcDraft {
  if (!isVoting(draft.state) || !Object.values(draft.state.steps).every(votedYes)) return draft;
  const decided = decideAs(draft, 'commit');
  return ctx.definition.steps.reduce((current, { id }) => beginPhase(current, id, 'commit', ctx, TWO_PC_ATTEMPTS), decided);
}

/** Prepares every pending step whose dependencies have all voted yes. */
function prepareReady(draft: TwoPcDraft, ctx: DecideContext): TwoPcDraft {
  if (!isVoting(draft.state)) return draft;
  const { steps } = draft.state;
  return ctx.definition.steps
    .filter((spec) => steps[spec.id].status === 'pending' && spec.dependsOn.every((id) => votedYes(steps[id])))
    .reduce((current, spec) => send(updateStep(current, spec.id, { status: 'running' }), spec.id, ctx), draft);
}

// ---- events ----

/** The attempt a step was waiting for ended: by a reply, or by a timeout (as `retry`). */
function conclude(
  draft: TwoPcDraft,
  id: string,
  outcome: Outcome,
  output: JsonObject | null,
  error: ReplyError | null,
  ctx: DecideContext,
): TwoPcDraft {
  const { phase } = draft.state.steps[id];
  const concluded = endAttempt(draft, id, error);
  switch (phase) {
    case 'prepare': {
      // Only awaited while voting: a decision moves every prepared step on to phase two.
      if (outcome === 'success') return updateStep(concluded, id, { output }); // YES: prepared
      const cause = { kind: 'step_failed', stepId: id } as const;
      // NO: the participant prepared nothing, so it needs no abort.
      if (outcome === 'failure') return abortAll(updateStep(concluded, id, { status: 'failed' }), cause, ctx);
      // In doubt once the budget is spent: it may have prepared, so it is aborted like the rest.
      return scheduleRetry(concluded, id, stepSpec(ctx.definition, id).retry, ctx) ?? abortAll(concluded, cause, ctx);
    }
    case 'commit':
      return concludeMustSucceed(concluded, id, outcome, ctx, { done: 'succeeded', gaveUp: 'failed' });
    case 'abort':
      return concludeMustSucceed(concluded, id, outcome, ctx, { done: 'compensated', gaveUp: 'compensation_failed' });
  }
}

// Operator requests (the same for every protocol: transaction/operators.ts) follow these rules.

function abortBlocker(state: TwoPcState): Rejection | null {
  const blocker = blockedAbort(state);
  return blocker && { code: blocker, message: ABORT_BLOCKED[blocker] };
}

/**
 * An operator fixed a stuck step by hand, in the direction of the decision: a failed commit
 * is resolved `succeeded` (committed), a failed abort `compensated` (aborted).
 */
function resolveRefusal(step: TwoPcStepState, outcome: ResolveOutcome): Rejection | null {
  if (step.phase === 'commit' && outcome !== 'succeeded') {
    return {
      code: 'past_point_of_no_return',
      message: 'the decision is COMMIT: a step can only be resolved as succeeded',
    };
  }
  if (step.phase === 'abort' && outcome !== 'compensated') {
    return {
      code: 'outcome_not_applicable',
      message: 'the decision is ABORT: a step can only be resolved as compensated',
    };
  }
  return null;
}

/**
 * The operator failed a step still preparing: a NO vote when no prepare went out; else it
 * may have prepared, so it ends as a spent budget does, aborted like the rest.
 */
function failPending(draft: TwoPcDraft, id: string, error: ReplyError, ctx: DecideContext): TwoPcDraft {
  if (draft.state.steps[id].attempt === 0) return conclude(draft, id, 'failure', null, error, ctx);
  return conclude(updateStep(draft, id, { attemptsLeft: 0 }), id, 'retry', null, error, ctx);
}

// ---- transitions ----

/** Every phase of a 2PC step sends the step's action; the command's `phase` tells them apart. */
function send(draft: TwoPcDraft, id: string, ctx: DecideContext): TwoPcDraft {
  return dispatchStep(draft, id, stepSpec(ctx.definition, id).action, ctx);
}

/** Sets the decision, once, and records it before anything it causes. */
function decideAs(draft: TwoPcDraft, decision: TwoPcDecision): TwoPcDraft {
  if (draft.state.decision !== null) throw new Error('invariant: the decision is taken once');
  return record({ ...draft, state: { ...draft.state, decision } }, { type: 'transaction.decided', decision });
}

/**
 * The decision ABORT. Steps whose prepare never went out are skipped (a held or scheduled
 * first attempt is dropped); NO voters keep `failed`; every other step — voted yes, prepare
 * out, waiting to retry, or in doubt after its last attempt — is sent `abort` at once (an
 * attempt still out is fenced off by the participant's barrier; its reply is then stale).
 */
function abortAll(draft: TwoPcDraft, cause: RollbackCause, ctx: DecideContext): TwoPcDraft {
  const rolling = startRollback(decideAs(draft, 'abort'), cause, ctx);
  return ctx.definition.steps.reduce((current, { id }) => {
    const { status } = current.state.steps[id];
    if (status === 'skipped' || status === 'failed') return current;
    return beginPhase(current, id, 'abort', ctx, TWO_PC_ATTEMPTS);
  }, rolling);
}

// ---- rules ----

const ABORT_BLOCKED = {
  not_running: 'only a running transaction can be aborted',
  past_point_of_no_return: 'the decision is COMMIT: the transaction can only move forward',
} as const satisfies Partial<Record<RejectionCode, string>>;

function blockedAbort(state: TwoPcState): keyof typeof ABORT_BLOCKED | null {
  if (state.decision === 'commit') return 'past_point_of_no_return';
  return state.status === 'running' ? null : 'not_running';
}

/** Running with no decision yet: prepares go out and votes count. */
function isVoting(state: TwoPcState): boolean {
  return state.status === 'running' && state.decision === null;
}

/** Its prepare was answered `success`: it is prepared and waits for the decision. */
function votedYes(step: TwoPcStepState): boolean {
  return step.phase === 'prepare' && step.status === 'running' && step.attempt > 0 && step.waitingFor === null;
}

/** Waits for an operator: a commit or an abort out of attempts. (A NO voter's `failed` is final.) */
function isStuck(step: TwoPcStepState): boolean {
  return step.status === 'compensation_failed' || (step.status === 'failed' && step.phase === 'commit');
}

const TWO_PC_ATTEMPTS: AttemptRules<TwoPcState> = { send, conclude };

const RULES: ProtocolRules<TwoPcState> = {
  attempts: TWO_PC_ATTEMPTS,
  propagate,
  // The deadline first: once it has passed, no held or retried prepare goes out any more.
  timer: (draft, ctx) => fireDueTimers(enforceDeadline(draft, ctx), ctx, TWO_PC_ATTEMPTS),
  rollbackBlocker: abortBlocker,
  rollBack: abortAll,
  isStuck: (state, id) => isStuck(state.steps[id]),
  resolveRefusal: (state, id, outcome) => resolveRefusal(state.steps[id], outcome),
  resolveAs: takeOutcome,
  failPending,
  skip: null,
  // Commit and abort settle what the prepare prepared: they carry the prepare's input.
  editablePhases: ['prepare'],
};
