import { decisionOf, TwoPcState } from '../engine';

/**
 * What the coordinator knows of the transaction a prepared transaction belongs to:
 * its 2PC decision, `pending` while it is still undecided, or `missing` when it has no such
 * transaction (never started, or deleted by retention): presumed abort.
 */
export type Verdict = 'commit' | 'abort' | 'pending' | 'missing';

/** The coordinator's row of the transaction, as far as the verdict needs it; null when there is none. */
export interface KnownTransaction {
  readonly type: string;
  readonly status: TwoPcState['status'];
  readonly decision: TwoPcState['decision'];
}

export function verdictOf(tx: KnownTransaction | null): Verdict {
  if (!tx) return 'missing';
  // Only a 2PC transaction has a decision a participant could apply.
  return tx.type === '2pc' ? decisionOf(tx) : 'pending';
}

/**
 * Prepared work whose verdict is settled should have been finished already: it holds its
 * locks for nothing. Pending work waits for the vote or the decision, as 2PC requires.
 */
export const shouldBeFinished = (verdict: Verdict): boolean => verdict !== 'pending';
