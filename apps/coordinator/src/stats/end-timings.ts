import { sinceLastEnd, TimedEvent, timelineOf, TimelineRow, TxStatus } from '../engine';

/** What one series of the rollup learns from one end: the transaction as a whole (stepId and phase ''), or one step phase. */
export interface TimingSample {
  readonly stepId: string;
  readonly phase: string;
  /** The transaction did not complete; the step phase did not succeed. */
  readonly failure: boolean;
  /** The transaction ended `failed` (it waits for an operator); always false for a step phase. */
  readonly needsOperator: boolean;
  /** Attempts beyond the first. */
  readonly retries: number;
  /** A step phase: dispatch to reply of its successful attempt; the transaction: start to end. Null when it did not succeed. */
  readonly durationMs: number | null;
  /** From the first dispatch to the last answer (the transaction: start to end), retries and waits included. */
  readonly totalMs: number;
}

export interface EndTimings {
  /** When the transaction ended. */
  readonly at: number;
  readonly status: TxStatus;
  readonly samples: readonly TimingSample[];
}

/** The sample of a step phase; null if it sent nothing, or its last attempt was never answered (an operator settled it). */
function phaseSample(row: TimelineRow): TimingSample | null {
  const attempts = row.spans.flatMap((s) => (s.kind === 'attempt' ? [s] : []));
  const last = attempts.at(-1);
  if (!last || last.end === null) return null;
  const succeeded = last.outcome === 'success';
  return {
    stepId: row.stepId,
    phase: row.phase,
    failure: !succeeded,
    needsOperator: false,
    retries: attempts.length - 1,
    durationMs: succeeded ? last.end - last.start : null,
    totalMs: last.end - attempts[0].start,
  };
}

/**
 * The timings of the end recorded at `history[endIndex]` (a `transaction.status_changed` to
 * an ended status): the transaction's, from its start, and those of the step phases that ran
 * since its previous end (a replayed transaction ends again, and only what the replay did
 * counts then).
 */
export function endTimings(history: readonly TimedEvent[], endIndex: number): EndTimings {
  const { at, event } = history[endIndex];
  if (event.type !== 'transaction.status_changed') throw new Error(`history[${endIndex}] is a ${event.type}, not an end`);
  const started = history.find((e) => e.event.type === 'transaction.started')?.at ?? at;
  const transaction: TimingSample = {
    stepId: '',
    phase: '',
    failure: event.to !== 'completed',
    needsOperator: event.to === 'failed',
    retries: 0,
    durationMs: at - started,
    totalMs: at - started,
  };
  const steps = timelineOf(sinceLastEnd(history, endIndex)).rows.flatMap((row) => phaseSample(row) ?? []);
  return { at, status: event.to, samples: [transaction, ...steps] };
}
