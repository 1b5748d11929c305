import { holdUntil } from '../attempts/attempts';
import { accept, Decision, reject } from './decision';
import { Draft, record, updateStep } from './draft';
import { DecideContext, OperatorEventOf, PauseReason } from './inputs';
import { Pause, TransactionState } from './transaction-state';

/**
 * Pausing. A paused transaction's clock stands still at `paused.since`: it is decided as of
 * that instant, so nothing it schedules meanwhile (a retry after a reply) runs ahead of it;
 * it sends nothing (every command is held until the resume) and has no timer (nextDueAt is
 * null), while replies are still applied. An operator pauses it, or a command due to a
 * paused participant does. Once nothing holds it any more, every timer — each step's
 * timeout, backoff or hold, and the deadline — moves on by the time paused, so each has as
 * long left as it had when the clock stopped, and what is due then runs at once.
 */

/** What a resume does once the clock runs again: the protocol's timer, then its propagation. */
export type Restart<S> = (draft: Draft<S>, ctx: DecideContext) => Draft<S>;

/** The context a decision of this state takes: a paused transaction's clock stands still. */
export function clockOf(state: TransactionState, ctx: DecideContext): DecideContext {
  return state.paused ? { ...ctx, now: state.paused.since } : ctx;
}

/** Running or compensating: the transactions that may be paused. */
export function isLive(state: TransactionState): boolean {
  return state.status === 'running' || state.status === 'compensating';
}

export function pause<S extends TransactionState>(draft: Draft<S>, { actor, note }: OperatorEventOf<'pause'>, ctx: DecideContext): Decision<S> {
  const { paused } = draft.state;
  if (!isLive(draft.state)) return reject('not_running', `a ${draft.state.status} transaction cannot be paused`);
  if (paused?.actor) return reject('already_paused', `already paused by ${paused.actor}`);
  const next = { since: paused?.since ?? ctx.now, actor, participants: paused?.participants ?? [] };
  return accept(record(withPause(draft, next), { type: 'operator.paused', actor, ...(note && { note }) }));
}

export function resume<S extends TransactionState>(
  draft: Draft<S>,
  { actor, note }: OperatorEventOf<'resume'>,
  ctx: DecideContext,
  restart: Restart<S>,
): Decision<S> {
  const { paused } = draft.state;
  if (!paused?.actor) return reject('not_paused', 'the transaction is not paused by an operator');
  const noted = record(draft, { type: 'operator.resumed', actor, ...(note && { note }) });
  return accept(release(noted, { ...paused, actor: null }, actor, ctx, restart));
}

export function participantResumed<S extends TransactionState>(
  draft: Draft<S>,
  { actor, participant }: OperatorEventOf<'participant_resumed'>,
  ctx: DecideContext,
  restart: Restart<S>,
): Decision<S> {
  const { paused } = draft.state;
  if (!paused?.participants.includes(participant)) return reject('not_paused', `the transaction does not wait for ${participant}`);
  const noted = record(draft, { type: 'operator.participant_resumed', actor, participant });
  const left = { ...paused, participants: paused.participants.filter((p) => p !== participant) };
  return accept(release(noted, left, actor, ctx, restart));
}

/** A command is due to a paused participant: the transaction's clock stops until it is resumed. */
export function pauseFor<S extends TransactionState>(draft: Draft<S>, participant: string, now: number): Draft<S> {
  const { paused } = draft.state;
  if (paused?.participants.includes(participant)) return draft;
  const next = { since: paused?.since ?? now, actor: paused?.actor ?? null, participants: [...(paused?.participants ?? []), participant] };
  return record(withPause(draft, next), { type: 'transaction.paused', participant });
}

/**
 * Holds the step's next command until the pause ends, without using an attempt: due at the
 * instant the clock stopped, so it goes as soon as the clock runs again.
 */
export function holdForPause<S extends TransactionState>(draft: Draft<S>, stepId: string, participant: string, reason: PauseReason): Draft<S> {
  const before = draft.state.steps[stepId];
  const held = updateStep(draft, stepId, holdUntil(before, draft.state.paused!.since));
  if (before.waitingFor === 'hold') return held;
  return record(held, { type: 'step.held', stepId, phase: before.phase, participant, reason });
}

/** What is left of the pause; once nothing holds it, the clock runs again from where it stood. */
function release<S extends TransactionState>(draft: Draft<S>, left: Pause, actor: string, ctx: DecideContext, restart: Restart<S>): Draft<S> {
  if (left.actor !== null || left.participants.length > 0) return withPause(draft, left);
  const pausedMs = Math.max(0, ctx.now - left.since);
  const later = (instant: number | null) => (instant === null ? null : instant + pausedMs);
  const { deadline, steps } = draft.state;
  const moved = Object.fromEntries(Object.entries(steps).map(([id, step]) => [id, { ...step, dueAt: later(step.dueAt) }]));
  const state = { ...draft.state, paused: null, deadline: later(deadline), steps: moved };
  return restart(record({ ...draft, state }, { type: 'transaction.resumed', actor, pausedMs }), ctx);
}

function withPause<S extends TransactionState>(draft: Draft<S>, paused: Pause): Draft<S> {
  return { ...draft, state: { ...draft.state, paused } };
}
