import { JsonObject, Outcome, Phase, ReplyError } from '@ordo/protocol';
import { ReplyMatch } from '../attempts/attempts';
import { HoldReason, OperatorEvent, OperatorEventOf, PauseReason, ResolveOutcome } from './inputs';
import { RollbackCause, StepStatus, TxStatus } from './transaction-state';

export type IgnoredReplyReason = 'transaction_finished' | 'unknown_step' | Exclude<ReplyMatch, 'current'>;

/** An operator's request as its history entry records it. */
type Recorded<T extends OperatorEvent['type'], As extends string> = { readonly type: As } & Omit<OperatorEventOf<T>, 'type'>;

/** One entry of a transaction's append-only history. Instants are ms since the epoch. */
export type HistoryEvent =
  | { readonly type: 'transaction.started'; readonly deadline: number | null; readonly actor: string }
  | {
      readonly type: 'transaction.status_changed';
      readonly from: TxStatus;
      readonly to: TxStatus;
      readonly cause?: RollbackCause;
    }
  /** A step that cannot be undone succeeded: from here on the transaction only moves forward. */
  | { readonly type: 'transaction.committed'; readonly stepId: string }
  /**
   * A protocol with a global decision (2PC, TCC) took it. `commit` is recorded in the very batch
   * (state + history + outbox, one database transaction) that sends the first commit command,
   * so it is durable before any commit leaves; `abort` with the batch that starts the rollback.
   */
  | { readonly type: 'transaction.decided'; readonly decision: 'commit' | 'abort' }
  | {
      readonly type: 'step.status_changed';
      readonly stepId: string;
      readonly from: StepStatus;
      readonly to: StepStatus;
    }
  | {
      readonly type: 'step.dispatched';
      readonly stepId: string;
      readonly phase: Phase;
      readonly attempt: number;
      readonly deadline: number;
    }
  | {
      readonly type: 'step.replied';
      readonly stepId: string;
      readonly phase: Phase;
      readonly attempt: number;
      readonly outcome: Outcome;
      readonly error?: ReplyError;
    }
  | {
      readonly type: 'step.reply_ignored';
      readonly stepId: string;
      readonly phase: Phase;
      readonly attempt: number;
      readonly outcome: Outcome;
      readonly reason: IgnoredReplyReason;
    }
  | { readonly type: 'step.timed_out'; readonly stepId: string; readonly phase: Phase; readonly attempt: number }
  /**
   * The step's next command was held back (no attempt used): by the gate, tried again at
   * `until`; or by a pause (no `until`), sent when the transaction resumes. Recorded when a
   * hold begins, not each time a held step is held again.
   */
  | {
      readonly type: 'step.held';
      readonly stepId: string;
      readonly phase: Phase;
      readonly participant: string;
      readonly reason: HoldReason | PauseReason;
      readonly until?: number;
    }
  /** The transaction's clock stopped because a command was due to this paused participant. */
  | { readonly type: 'transaction.paused'; readonly participant: string }
  /**
   * The transaction's clock runs again, `pausedMs` after it stopped: every timer (step
   * timers, the deadline) moved on by that much. `actor`: who ended the last pause.
   */
  | { readonly type: 'transaction.resumed'; readonly actor: string; readonly pausedMs: number }
  /**
   * The step's next command was not sent: it would be `bytes` long, more than `maxBytes`.
   * No attempt was used; the step fails with COMMAND_TOO_LARGE.
   */
  | {
      readonly type: 'step.undeliverable';
      readonly stepId: string;
      readonly phase: Phase;
      readonly bytes: number;
      readonly maxBytes: number;
    }
  | {
      readonly type: 'step.retry_scheduled';
      readonly stepId: string;
      readonly phase: Phase;
      /** The attempt that will be sent at `dueAt`. */
      readonly attempt: number;
      readonly dueAt: number;
    }
  | { readonly type: 'operator.aborted'; readonly actor: string; readonly reason?: string }
  | { readonly type: 'operator.retried'; readonly actor: string; readonly stepIds: readonly string[] }
  | Recorded<'pause', 'operator.paused'>
  | Recorded<'resume', 'operator.resumed'>
  /** Resumed a paused participant that this transaction waited for. */
  | Recorded<'participant_resumed', 'operator.participant_resumed'>
  | Recorded<'retry_now', 'operator.retried_now'>
  | {
      readonly type: 'operator.attempts_changed';
      readonly actor: string;
      readonly stepId: string;
      readonly from: number;
      readonly to: number;
      readonly note?: string;
    }
  /** The input of the step's commands changed from `from` to `to` (edit and retry). */
  | {
      readonly type: 'operator.input_edited';
      readonly actor: string;
      readonly stepId: string;
      readonly from: JsonObject;
      readonly to: JsonObject;
      readonly note: string;
    }
  | Recorded<'skip', 'operator.skipped'>
  | Recorded<'fail_step', 'operator.failed_step'>
  | {
      readonly type: 'operator.resolved';
      readonly actor: string;
      readonly stepId: string;
      readonly outcome: ResolveOutcome;
      readonly note: string;
    };
