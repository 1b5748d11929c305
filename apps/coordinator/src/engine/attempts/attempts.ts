import { Phase } from '@ordo/protocol';
import { EffectiveRetryPolicy } from '../definition/definition';
import { retryDelayMs } from '../retry/backoff';

/**
 * Where one step stands in the attempts of its current phase. Shared by every protocol:
 * the per-step timer lives here, so a transaction's timers are just its steps' `dueAt`s.
 */
export interface AttemptState<P extends Phase = Phase> {
  readonly phase: P;
  /**
   * The latest attempt sent in `phase` (0 before the first). Numbers are never reused, not
   * even by an operator replay, so a late reply to an earlier attempt is always recognised.
   */
  readonly attempt: number;
  /** Attempts the current budget still allows; an operator replay refills it. */
  readonly attemptsLeft: number;
  /**
   * `reply`: an attempt is out; `backoff`: the next one is scheduled; `hold`: the next one
   * was held back to protect its participant (it used no attempt); `refused`: the next one
   * could not be sent at all (its command is too large; no attempt used), and the machine
   * concludes it as a failure within the same decision, so no stored state holds it; null: idle.
   */
  readonly waitingFor: 'reply' | 'backoff' | 'hold' | 'refused' | null;
  /** `reply`: when the attempt times out; `backoff` and `hold`: when the next attempt is tried. */
  readonly dueAt: number | null;
  /**
   * The timeout of the latest attempt, kept only when the step's timeout is adaptive (it
   * varies from attempt to attempt); a fixed one is the definition's.
   */
  readonly timeoutMs?: number;
}

/** How a reply relates to the attempt the step is waiting for. */
export type ReplyMatch =
  | 'current'
  | 'phase_mismatch'
  | 'attempt_mismatch'
  /** The attempt was already answered or has timed out: a duplicate or a late reply. */
  | 'not_awaited';

export function freshAttempts<P extends Phase>(phase: P, maxAttempts: number): AttemptState<P> {
  return { phase, attempt: 0, attemptsLeft: maxAttempts, waitingFor: null, dueAt: null };
}

/** The next attempt goes out now and must be answered within `timeoutMs` (kept on the state when `adaptive`). */
export function sendAttempt<A extends AttemptState>(
  state: A,
  timeoutMs: number,
  now: number,
  adaptive = false,
): A & { readonly waitingFor: 'reply'; readonly dueAt: number } {
  return {
    ...state,
    attempt: state.attempt + 1,
    attemptsLeft: state.attemptsLeft - 1,
    waitingFor: 'reply',
    dueAt: now + timeoutMs,
    ...(adaptive && { timeoutMs }),
  };
}

/** The timeout of the attempt out: its own when adaptive (it varies from attempt to attempt), else the step's fixed one. */
export function attemptTimeoutMs(state: AttemptState, fixedTimeoutMs: number): number {
  return state.timeoutMs ?? fixedTimeoutMs;
}

/** Stops waiting: the attempt was answered, timed out, or is no longer wanted. */
export function idle<A extends AttemptState>(state: A): A {
  return { ...state, waitingFor: null, dueAt: null };
}

/**
 * After an unsuccessful attempt: schedules the next one with backoff, or returns null when
 * the budget is spent and the caller must give up.
 */
export function retryLater<A extends AttemptState>(
  state: A,
  policy: EffectiveRetryPolicy,
  now: number,
  random: () => number,
): (A & { readonly waitingFor: 'backoff'; readonly dueAt: number }) | null {
  if (state.attemptsLeft <= 0) return null;
  return { ...state, waitingFor: 'backoff', dueAt: now + retryDelayMs(policy, state.attempt, random) };
}

/** The next attempt was held back and is tried again at `until`; the budget is untouched. */
export function holdUntil<A extends AttemptState>(state: A, until: number): A {
  return { ...state, waitingFor: 'hold', dueAt: until };
}

/** The next attempt is scheduled but not sent: after a backoff, or held back. */
export function isScheduled(state: AttemptState): boolean {
  return state.waitingFor === 'backoff' || state.waitingFor === 'hold';
}

/** A fresh budget, continuing the attempt numbering. */
export function refill<A extends AttemptState>(state: A, maxAttempts: number): A {
  return { ...state, attemptsLeft: maxAttempts };
}

export function matchReply(state: AttemptState, phase: Phase, attempt: number): ReplyMatch {
  if (phase !== state.phase) return 'phase_mismatch';
  if (attempt !== state.attempt) return 'attempt_mismatch';
  return state.waitingFor === 'reply' ? 'current' : 'not_awaited';
}

export function isDue(state: AttemptState, now: number): boolean {
  return state.dueAt !== null && state.dueAt <= now;
}
