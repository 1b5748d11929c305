import { COMPENSATING_PHASES, isForwardPhase, JsonObject, Outcome, Phase, ReplyError } from '@ordo/protocol';
import {
  freshAttempts,
  holdUntil,
  idle,
  isDue,
  isScheduled,
  matchReply,
  refill,
  retryLater,
  sendAttempt,
} from '../attempts/attempts';
import { EffectiveRetryPolicy, ResolvedDefinition, ResolvedStep } from '../definition/definition';
import { resolveInput } from '../definition/input-mapping';
import { Draft, emit, record, setStatus, updateStep } from './draft';
import { toCommand } from './effects';
import { IgnoredReplyReason } from './history';
import { DecideContext, StepReply } from './inputs';
import { holdForPause, pauseFor } from './pause';
import {
  findStep,
  hasWorkInFlight,
  isFinished,
  RollbackCause,
  StepStatus,
  stepOutputs,
  TransactionState,
} from './transaction-state';

/** What a command carries besides the attempt bookkeeping. */
export interface Dispatch {
  readonly participant: string;
  readonly action: string;
  readonly input: JsonObject;
  readonly timeoutMs: number;
}

// Transitions every protocol shares. Each returns a new draft with the history recorded.

export function startTransaction<S extends TransactionState>(draft: Draft<S>, actor: string, ctx: DecideContext): Draft<S> {
  const { timeoutMs } = ctx.definition;
  const deadline = timeoutMs === null ? null : ctx.now + timeoutMs;
  const started = { ...draft, state: { ...draft.state, startedAt: ctx.now, deadline } };
  return record(started, { type: 'transaction.started', deadline, actor });
}

/** Every transaction id is a UUID of this length, so a command's size does not depend on which. */
const SOME_TX_ID = '00000000-0000-4000-8000-000000000000';

/** The error of a step whose command was too large to send. */
export const COMMAND_TOO_LARGE = 'COMMAND_TOO_LARGE';

/**
 * Sends the next attempt of the step's current phase, or, when the gate refuses, holds the
 * step until the gate's retry time without using an attempt; in a paused transaction, or to
 * a paused participant (which pauses the transaction), until the resume (pause.ts). A command larger than
 * `ctx.maxCommandBytes` is not sent: the step is `refused` (its budget shrinks, its attempt
 * number does not, so nothing counts as sent and nothing needs undoing) and decideWith
 * concludes it as a failure.
 */
export function dispatchAttempt<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  { participant, action, input, timeoutMs }: Dispatch,
  ctx: DecideContext,
): Draft<S> {
  // A paused transaction sends nothing: the command waits for the resume.
  if (draft.state.paused) return holdForPause(draft, stepId, participant, 'transaction_paused');
  const before = draft.state.steps[stepId];
  if (ctx.maxCommandBytes !== undefined) {
    const attempt = before.attempt + 1;
    const send = { kind: 'send', stepId, participant, phase: before.phase, action, attempt, input, deadline: ctx.now + timeoutMs } as const;
    const bytes = Buffer.byteLength(JSON.stringify(toCommand(SOME_TX_ID, ctx.definition.type, send)));
    if (bytes > ctx.maxCommandBytes) {
      const refused = updateStep(draft, stepId, { waitingFor: 'refused', dueAt: null, attemptsLeft: Math.max(0, before.attemptsLeft - 1) });
      return record(refused, { type: 'step.undeliverable', stepId, phase: before.phase, bytes, maxBytes: ctx.maxCommandBytes });
    }
  }
  const admission = ctx.gate.admit(participant);
  if (!admission.admitted && admission.reason === 'participant_paused') {
    return holdForPause(pauseFor(draft, participant, ctx.now), stepId, participant, 'participant_paused');
  }
  if (!admission.admitted) {
    const { reason, retryAt: until } = admission;
    const held = updateStep(draft, stepId, holdUntil(before, until));
    // Held again: the history already says since when and why.
    if (before.waitingFor === 'hold') return held;
    return record(held, { type: 'step.held', stepId, phase: before.phase, participant, reason, until });
  }
  const step = sendAttempt(before, timeoutMs, ctx.now);
  const { phase, attempt, dueAt: deadline } = step;
  const sent = record(updateStep(draft, stepId, step), { type: 'step.dispatched', stepId, phase, attempt, deadline });
  return emit(sent, { kind: 'send', stepId, participant, phase, action, attempt, input, deadline });
}

/** Schedules the step's next attempt with backoff, or returns null once its budget is spent. */
export function scheduleRetry<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  policy: EffectiveRetryPolicy,
  ctx: DecideContext,
): Draft<S> | null {
  const step = draft.state.steps[stepId];
  const next = retryLater(step, policy, ctx.now, ctx.random);
  if (!next) return null;
  const { phase, dueAt } = next;
  const attempt = step.attempt + 1;
  return record(updateStep(draft, stepId, next), { type: 'step.retry_scheduled', stepId, phase, attempt, dueAt });
}

/** Records that the awaited attempt got no reply in time; returns the error to keep on the step. */
export function recordTimeout<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  timeoutMs: number,
): [Draft<S>, ReplyError] {
  const { phase, attempt } = draft.state.steps[stepId];
  const error = { code: 'TIMEOUT', message: `no reply to ${phase} attempt ${attempt} within ${timeoutMs} ms` };
  return [record(draft, { type: 'step.timed_out', stepId, phase, attempt }), error];
}

/** Why a reply does not count, or null when it answers the attempt its step awaits. */
export function ignoredReplyReason(state: TransactionState, reply: StepReply): IgnoredReplyReason | null {
  if (isFinished(state.status)) return 'transaction_finished';
  const step = findStep(state, reply.stepId);
  if (!step) return 'unknown_step';
  const match = matchReply(step, reply.phase, reply.attempt);
  return match === 'current' ? null : match;
}

/** Ids of the steps whose timer is due at `now`, earliest first (ties in the given order). */
export function dueSteps(state: TransactionState, stepIds: readonly string[], now: number): string[] {
  const dueAt = (id: string): number => state.steps[id].dueAt ?? Infinity;
  return stepIds.filter((id) => dueAt(id) <= now).sort((a, b) => dueAt(a) - dueAt(b));
}

/** Back from `failed` after an operator action, in the direction the transaction was going. */
export function reopen<S extends TransactionState>(draft: Draft<S>): Draft<S> {
  return draft.state.status === 'failed'
    ? setStatus(draft, draft.state.rollback ? 'compensating' : 'running')
    : draft;
}

// ---- phases every protocol shares: undo, must-succeed, rollback, replay, settle ----

/** The awaited attempt ended: the step waits for nothing; a new error replaces the last one. */
export function endAttempt<S extends TransactionState>(draft: Draft<S>, stepId: string, error: ReplyError | null): Draft<S> {
  const step = draft.state.steps[stepId];
  return updateStep(draft, stepId, { ...idle(step), lastError: error ?? step.lastError });
}

/**
 * The step enters a new phase with a fresh attempt budget and sends its first attempt.
 * Commands of a compensating phase show the step as `compensating`, the others as `running`.
 */
export function beginPhase<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  phase: S['steps'][string]['phase'],
  ctx: DecideContext,
  rules: AttemptRules<S>,
): Draft<S> {
  const attempts = freshAttempts(phase, stepSpec(ctx.definition, stepId).retry.maxAttempts);
  return rules.send(updateStep(draft, stepId, { ...attempts, status: activeStatus(phase) }), stepId, ctx);
}

/**
 * An attempt of a phase that must succeed (compensate, confirm, cancel, commit, abort) ended,
 * already through `endAttempt`: success makes the step `done`; any other outcome is retried
 * with backoff, and a spent budget leaves the step `gaveUp` for an operator.
 */
export function concludeMustSucceed<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  outcome: Outcome,
  ctx: DecideContext,
  { done, gaveUp }: { readonly done: StepStatus; readonly gaveUp: StepStatus },
): Draft<S> {
  if (outcome === 'success') return updateStep(draft, stepId, { status: done });
  const { retry } = stepSpec(ctx.definition, stepId);
  return scheduleRetry(draft, stepId, retry, ctx) ?? updateStep(draft, stepId, { status: gaveUp });
}

/**
 * Starts a rollback: steps never started are skipped; a forward attempt that is scheduled
 * (backoff or hold) is dropped, and the step skipped if none of its attempts went out. Steps
 * with a forward attempt out keep waiting for it; undoing them is the machine's business.
 */
export function startRollback<S extends TransactionState>(
  draft: Draft<S>,
  cause: RollbackCause,
  ctx: DecideContext,
): Draft<S> {
  return ctx.definition.steps.reduce((current, { id }) => {
    const step = current.state.steps[id];
    if (step.status === 'pending') return updateStep(current, id, { status: 'skipped' });
    if (isForwardPhase(step.phase) && isScheduled(step)) {
      const dropped = updateStep(current, id, idle(step));
      return step.attempt === 0 ? updateStep(dropped, id, { status: 'skipped' }) : dropped;
    }
    return current;
  }, setStatus(draft, 'compensating', cause));
}

/**
 * An operator replays stuck steps (in their current phase) with a fresh attempt budget; the
 * transaction reopens in the direction it was going. Attempt numbers keep counting.
 */
export function replayStuck<S extends TransactionState>(
  draft: Draft<S>,
  actor: string,
  stuck: readonly ResolvedStep[],
  ctx: DecideContext,
  rules: AttemptRules<S>,
): Draft<S> {
  const replayed = reopen(record(draft, { type: 'operator.retried', actor, stepIds: stuck.map((spec) => spec.id) }));
  return stuck.reduce((current, spec) => {
    const step = current.state.steps[spec.id];
    const refilled = { ...refill(step, spec.retry.maxAttempts), status: activeStatus(step.phase) };
    return rules.send(updateStep(current, spec.id, refilled), spec.id, ctx);
  }, replayed);
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

/** The status of a step while a command of `phase` is out. */
function activeStatus(phase: Phase): StepStatus {
  return COMPENSATING_PHASES.includes(phase) ? 'compensating' : 'running';
}

/** The step's definition; a step of the state missing from its pinned definition is a bug. */
export function stepSpec(definition: ResolvedDefinition, stepId: string): ResolvedStep {
  const spec = definition.steps.find((step) => step.id === stepId);
  if (!spec) throw new Error(`invariant: step ${stepId} is not in definition ${definition.name}`);
  return spec;
}

/**
 * Sends the next attempt of the step's current phase as `action`, to the step's participant,
 * with the step's mapped input (the same for every phase of a step) and timeout.
 */
export function dispatchStep<S extends TransactionState>(
  draft: Draft<S>,
  stepId: string,
  action: string,
  ctx: DecideContext,
): Draft<S> {
  const { participant, input, timeoutMs } = stepSpec(ctx.definition, stepId);
  const resolved = resolveInput(input, ctx.input, stepOutputs(draft.state));
  return dispatchAttempt(draft, stepId, { participant, action, input: resolved, timeoutMs }, ctx);
}

/** How a protocol sends a step's next attempt, and what it makes of an attempt that ended. */
export interface AttemptRules<S> {
  /** Sends (or holds) the next attempt of the step's current phase. */
  send(draft: Draft<S>, stepId: string, ctx: DecideContext): Draft<S>;
  /** The awaited attempt ended: by a reply, or by its timeout (as `retry`, with a TIMEOUT error). */
  conclude(
    draft: Draft<S>,
    stepId: string,
    outcome: Outcome,
    output: JsonObject | null,
    error: ReplyError | null,
    ctx: DecideContext,
  ): Draft<S>;
}

/**
 * Acts on every step timer due at `now`, earliest first: a scheduled attempt (backoff or
 * hold over) is sent, an attempt out past its timeout concludes as `retry`.
 */
export function fireDueTimers<S extends TransactionState>(
  draft: Draft<S>,
  ctx: DecideContext,
  rules: AttemptRules<S>,
): Draft<S> {
  const ids = ctx.definition.steps.map((spec) => spec.id);
  return dueSteps(draft.state, ids, ctx.now).reduce((current, id) => {
    const step = current.state.steps[id];
    // An earlier timer in this pass may have changed course (a rollback), cancelling this one.
    if (!isDue(step, ctx.now)) return current;
    if (isScheduled(step)) return rules.send(current, id, ctx);
    const [timedOut, error] = recordTimeout(current, id, stepSpec(ctx.definition, id).timeoutMs);
    return rules.conclude(timedOut, id, 'retry', null, error, ctx);
  }, draft);
}

/**
 * Steps whose command could not be sent (dispatchAttempt) fail at once with
 * COMMAND_TOO_LARGE, as if their participant had refused them, and the machine moves on;
 * until none is left, as a rollback's compensations may be refused in turn.
 */
export function concludeRefused<S extends TransactionState>(
  draft: Draft<S>,
  ctx: DecideContext,
  rules: AttemptRules<S>,
  propagate: (draft: Draft<S>, ctx: DecideContext) => Draft<S>,
): Draft<S> {
  let current = draft;
  // A step is refused at most once per phase it enters, and a saga step has two phases.
  let rounds = 2 * ctx.definition.steps.length + 1;
  for (let refused = refusedSteps(current.state); refused.length > 0; refused = refusedSteps(current.state)) {
    if (rounds-- === 0) throw new Error('invariant: commands kept being refused within one decision');
    current = propagate(
      refused.reduce((next, id) => {
        const { phase } = next.state.steps[id];
        const message = `the ${phase} command of step ${id} is larger than ${ctx.maxCommandBytes} bytes and cannot be sent`;
        return rules.conclude(next, id, 'failure', null, { code: COMMAND_TOO_LARGE, message }, ctx);
      }, current),
      ctx,
    );
  }
  return current;
}

const refusedSteps = (state: TransactionState): string[] =>
  Object.entries(state.steps).flatMap(([id, step]) => (step.waitingFor === 'refused' ? [id] : []));

/**
 * A participant's reply: concludes the attempt it answers, or, when it answers nothing
 * awaited (duplicate, late, stale, unknown), only records `step.reply_ignored`.
 */
export function applyReply<S extends TransactionState>(
  draft: Draft<S>,
  reply: StepReply,
  ctx: DecideContext,
  rules: AttemptRules<S>,
): Draft<S> {
  const { stepId, phase, attempt, outcome, error } = reply;
  const reason = ignoredReplyReason(draft.state, reply);
  if (reason) return record(draft, { type: 'step.reply_ignored', stepId, phase, attempt, outcome, reason });
  const replied = record(draft, { type: 'step.replied', stepId, phase, attempt, outcome, ...(error && { error }) });
  return rules.conclude(replied, stepId, outcome, reply.output ?? null, error ?? null, ctx);
}
