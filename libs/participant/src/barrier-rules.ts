/**
 * The idempotency barrier's rules as pure functions, shared by every barrier store (the
 * SDK's SQL table, the e2e tests' in-memory one). A store keeps one row per
 * (txId, stepId, phase) with the reply given. Insert first: a command claims its own row
 * (the key is both the lock and the check); a compensating phase that claimed its own row
 * then claims its forward phase's row as a fence. A claim that finds a row reads it. The
 * store asks `barrierDecision` with the rows found, runs the business code only on `run`,
 * and keeps `ownRow` (null: releases its claims) in the same local transaction as the
 * business code's changes.
 */
import { FORWARD_OF, mustSucceed, Outcome, Phase, Reply } from '@ordo/protocol';

/** The part of a reply that a participant decides and the barrier stores. */
export type ReplyBody = Pick<Reply, 'outcome' | 'output' | 'error'>;

export interface BarrierRow {
  /**
   * `handler`: the business code ran and gave `reply`. `null_compensation`: a compensating
   * phase found nothing to undo. `fence`: written by a compensation in place of a forward
   * phase that never ran, so that phase is refused if it arrives later. `recovered`: a
   * prepared transaction finished by in-doubt recovery, on the decision the coordinator gave.
   */
  origin: 'handler' | 'null_compensation' | 'fence' | 'recovered';
  reply: ReplyBody;
}

/** The rows the command's claims found; absent: the claim inserted the row. */
export interface BarrierRows {
  own?: BarrierRow;
  /** Compensating phases only: the forward phase's row (see `forwardPhaseOf`); absent: fenced now. */
  forward?: BarrierRow;
}

export type BarrierDecision =
  /** Run the business code; store its reply if it is final (`isFinalReply`). */
  | { kind: 'run' }
  /** Seen before: skip the business code and send the stored reply again. */
  | { kind: 'duplicate'; reply: ReplyBody }
  /** A forward phase arriving after its compensation: refuse it with the fence's reply. */
  | { kind: 'hanging'; reply: ReplyBody }
  /** Nothing to undo: skip the business code and answer success (a forward phase that never ran is fenced by the claim). */
  | { kind: 'null_compensation'; reply: ReplyBody };

export type BarrierDecisionKind = BarrierDecision['kind'];

export const NULL_COMPENSATION_REPLY: ReplyBody = { outcome: 'success' };

export const FENCE_REPLY: ReplyBody = {
  outcome: 'failure',
  error: { code: 'ALREADY_COMPENSATED', message: 'this step was already compensated; the late request is refused' },
};

/** The row a compensating phase claims in place of its forward phase. */
export const FENCE: BarrierRow = { origin: 'fence', reply: FENCE_REPLY };

type CompensatingPhase = keyof typeof FORWARD_OF;

const isCompensating = (phase: Phase): phase is CompensatingPhase => Object.hasOwn(FORWARD_OF, phase);

/** The forward phase whose row a compensating phase checks and fences; null for other phases. */
export function forwardPhaseOf(phase: Phase): Phase | null {
  return isCompensating(phase) ? FORWARD_OF[phase] : null;
}

/**
 * Whether a reply ends its phase for the coordinator, so the barrier keeps the row and
 * replays the reply. A `retry`, or a `failure` of a phase that must succeed (which the
 * coordinator retries), rolls the row back with the business code: the next attempt runs
 * the business code again instead of replaying a dead end.
 */
export function isFinalReply(phase: Phase, outcome: Outcome): boolean {
  return outcome === 'success' || (outcome === 'failure' && !mustSucceed(phase));
}

export function barrierDecision(phase: Phase, rows: BarrierRows): BarrierDecision {
  const { own, forward } = rows;
  if (own) return own.origin === 'fence' ? { kind: 'hanging', reply: own.reply } : { kind: 'duplicate', reply: own.reply };
  // A forward phase that refused (or never ran) left nothing to undo.
  if (isCompensating(phase) && forward?.reply.outcome !== 'success') return { kind: 'null_compensation', reply: NULL_COMPENSATION_REPLY };
  return { kind: 'run' };
}

/**
 * The command's own row to keep once it is handled; `reply` is the business code's answer
 * on `run`. Null when the command claimed nothing (a duplicate, a hanging request) or its
 * reply is not final: the store then releases its claim.
 */
export function ownRow(phase: Phase, decision: BarrierDecision, reply: ReplyBody): BarrierRow | null {
  switch (decision.kind) {
    case 'run':
      return isFinalReply(phase, reply.outcome) ? { origin: 'handler', reply } : null;
    case 'null_compensation':
      return { origin: 'null_compensation', reply: decision.reply };
    case 'duplicate':
    case 'hanging':
      return null;
  }
}
