/**
 * The idempotency barrier's rules as pure functions, shared by every barrier store (the
 * SDK's SQL table, the e2e tests' in-memory one). A store keeps one row per
 * (txId, stepId, phase) with the reply given; for each command it loads the command's own
 * row and, for a compensating phase, the row of the forward phase it undoes, asks
 * `barrierDecision`, runs the business code only on `run`, and stores `barrierWrites` in
 * the same local transaction as the business code's changes.
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

/** The rows present before the command: absent when the store's insert found no conflict. */
export interface BarrierRows {
  own?: BarrierRow;
  /** Compensating phases only: the row of the forward phase (see `forwardPhaseOf`). */
  forward?: BarrierRow;
}

export type BarrierDecision =
  /** Run the business code; store its reply if it is final (`isFinalReply`). */
  | { kind: 'run' }
  /** Seen before: skip the business code and send the stored reply again. */
  | { kind: 'duplicate'; reply: ReplyBody }
  /** A forward phase arriving after its compensation: refuse it with the fence's reply. */
  | { kind: 'hanging'; reply: ReplyBody }
  /** Nothing to undo: skip the business code and answer success; fence the forward phase if it never arrived. */
  | { kind: 'null_compensation'; reply: ReplyBody; fenceForward: boolean };

export type BarrierDecisionKind = BarrierDecision['kind'];

export interface BarrierWrite {
  phase: Phase;
  row: BarrierRow;
}

export const NULL_COMPENSATION_REPLY: ReplyBody = { outcome: 'success' };

export const FENCE_REPLY: ReplyBody = {
  outcome: 'failure',
  error: { code: 'ALREADY_COMPENSATED', message: 'this step was already compensated; the late request is refused' },
};

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
  if (isCompensating(phase) && forward?.reply.outcome !== 'success') {
    return { kind: 'null_compensation', reply: NULL_COMPENSATION_REPLY, fenceForward: forward === undefined };
  }
  return { kind: 'run' };
}

/** The rows to store once the command is handled; `reply` is the business code's answer on `run` (null: none). */
export function barrierWrites(phase: Phase, decision: BarrierDecision, reply: ReplyBody | null): BarrierWrite[] {
  switch (decision.kind) {
    case 'run':
      return reply && isFinalReply(phase, reply.outcome) ? [{ phase, row: { origin: 'handler', reply } }] : [];
    case 'null_compensation': {
      const own: BarrierWrite = { phase, row: { origin: 'null_compensation', reply: decision.reply } };
      const forward = forwardPhaseOf(phase);
      return decision.fenceForward && forward ? [own, { phase: forward, row: { origin: 'fence', reply: FENCE_REPLY } }] : [own];
    }
    case 'duplicate':
    case 'hanging':
      return [];
  }
}
