import { Outcome, Phase, ReplyError } from '@ordo/protocol';
import { HistoryEvent } from '../transaction/history';
import { hasEnded } from '../transaction/transaction-state';

/** How an attempt ended: its reply's outcome, or no reply before its timeout. */
export type AttemptOutcome = Outcome | 'timeout';

/** A stretch of one step phase's time. Instants are ms since the epoch; `end` null: still going when the history ends. */
export type Span =
  /** A command out, from its dispatch to its reply or timeout. `outcome` null: no answer yet. */
  | {
      readonly kind: 'attempt';
      readonly attempt: number;
      readonly start: number;
      readonly end: number | null;
      readonly outcome: AttemptOutcome | null;
      readonly error?: ReplyError;
    }
  /** Waiting for the retry backoff before `attempt` is sent. */
  | { readonly kind: 'backoff'; readonly attempt: number; readonly start: number; readonly end: number }
  /** The next command held back (a paused transaction or participant, an open circuit, a rate limit). */
  | { readonly kind: 'hold'; readonly start: number; readonly end: number | null; readonly reason: string };

/** One phase of one step (its forward phase, its compensation, a confirm …) on the time axis, oldest span first. */
export interface TimelineRow {
  readonly stepId: string;
  readonly phase: Phase;
  readonly spans: readonly Span[];
}

/** A moment of the transaction as a whole: its start, a status change, a decision, a pause, an operator's action. */
export interface TimelineMark {
  readonly at: number;
  readonly type: string;
  readonly stepId?: string;
  /** The status reached (status changes) or the decision taken (2PC/TCC decisions). */
  readonly detail?: string;
}

export interface Timeline {
  /** When the transaction started; null if its start is not in the history given. */
  readonly start: number | null;
  /** When it last ended (completed, compensated or failed); null while it runs. */
  readonly end: number | null;
  /** Rows in the order their phase first happened: forward phases first, compensations after. */
  readonly rows: readonly TimelineRow[];
  readonly marks: readonly TimelineMark[];
}

export interface TimedEvent {
  readonly at: number;
  readonly event: HistoryEvent;
}

/** Events the timeline passes over (the attempts' spans already show them): a reader of histories for timelines may leave them out. */
export const NOT_ON_TIMELINE: readonly HistoryEvent['type'][] = ['step.reply_ignored', 'step.status_changed'];

const isEnd = (event: HistoryEvent) => event.type === 'transaction.status_changed' && hasEnded(event.to);

/** Spans while the history is read: an attempt or a wait ends later. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MutableSpan = Mutable<Span>;

/**
 * The waterfall of a transaction from its history: per step phase, each attempt from dispatch
 * to reply (or timeout), the backoffs between attempts and the holds. Pure: the history is
 * all it reads.
 */
export function timelineOf(history: readonly TimedEvent[]): Timeline {
  const rows = new Map<string, { stepId: string; phase: Phase; spans: MutableSpan[] }>();
  const marks: TimelineMark[] = [];
  let start: number | null = null;
  let end: number | null = null;
  const rowOf = (stepId: string, phase: Phase) => {
    const key = `${stepId}\u0000${phase}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { stepId, phase, spans: [] }));
    return row.spans;
  };
  /** The open attempt numbered `attempt` of the row, if any. */
  const openAttempt = (spans: MutableSpan[], attempt: number) =>
    spans.find((s): s is Mutable<Extract<Span, { kind: 'attempt' }>> => s.kind === 'attempt' && s.attempt === attempt && s.end === null);
  /** Ends the row's waits (backoff, hold) at `at`: what comes next started then. */
  const endWaits = (spans: MutableSpan[], at: number) => {
    for (const span of spans) {
      if (span.kind === 'hold' && span.end === null) span.end = at;
      if (span.kind === 'backoff' && span.end > at) span.end = Math.max(span.start, at);
    }
  };

  for (const { at, event } of history) {
    if (NOT_ON_TIMELINE.includes(event.type)) continue;
    switch (event.type) {
      case 'step.dispatched': {
        const spans = rowOf(event.stepId, event.phase);
        endWaits(spans, at);
        spans.push({ kind: 'attempt', attempt: event.attempt, start: at, end: null, outcome: null });
        break;
      }
      case 'step.replied':
      case 'step.timed_out': {
        const span = openAttempt(rowOf(event.stepId, event.phase), event.attempt);
        if (!span) break;
        span.end = at;
        span.outcome = event.type === 'step.timed_out' ? 'timeout' : event.outcome;
        if (event.type === 'step.replied' && event.error) span.error = event.error;
        break;
      }
      case 'step.retry_scheduled':
        rowOf(event.stepId, event.phase).push({ kind: 'backoff', attempt: event.attempt, start: at, end: Math.max(at, event.dueAt) });
        break;
      case 'step.held': {
        const spans = rowOf(event.stepId, event.phase);
        endWaits(spans, at);
        spans.push({ kind: 'hold', start: at, end: null, reason: event.reason });
        break;
      }
      case 'transaction.started':
        start = at;
        marks.push({ at, type: event.type });
        break;
      case 'transaction.status_changed':
        if (isEnd(event)) end = at;
        else if (hasEnded(event.from)) end = null; // replayed: running again
        marks.push({ at, type: event.type, detail: event.to });
        break;
      case 'transaction.decided':
        marks.push({ at, type: event.type, detail: event.decision });
        break;
      default:
        marks.push({ at, type: event.type, ...('stepId' in event ? { stepId: event.stepId } : {}) });
    }
  }
  return { start, end, rows: [...rows.values()], marks };
}

/** The history since the transaction's previous end (a replayed transaction ends again), up to and with its end at `endIndex`. */
export function sinceLastEnd(history: readonly TimedEvent[], endIndex: number): readonly TimedEvent[] {
  let from = endIndex - 1;
  while (from >= 0 && !isEnd(history[from].event)) from--;
  return history.slice(from + 1, endIndex + 1);
}
