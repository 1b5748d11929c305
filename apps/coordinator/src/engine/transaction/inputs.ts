import { JsonObject, Reply } from '@ordo/protocol';
import { EffectiveAdaptiveTimeout, ResolvedDefinition } from '../definition/definition';
import { ReplyTimeEstimate } from '../timeouts/reply-time-window';

/** A participant's reply, already matched to its transaction by the shell. */
export type StepReply = Omit<Reply, 'txId'>;

export type ResolveOutcome = 'compensated' | 'succeeded';

export type OperatorEvent =
  | { readonly type: 'abort'; readonly actor: string; readonly reason?: string }
  /** Replays a `failed` transaction: re-drives its stuck steps with a fresh attempt budget. */
  | { readonly type: 'retry'; readonly actor: string }
  /** The operator fixed a stuck step by hand. */
  | {
      readonly type: 'resolve';
      readonly actor: string;
      readonly stepId: string;
      readonly outcome: ResolveOutcome;
      readonly note: string;
    }
  /** Stops the transaction's clock: nothing is sent and no timer runs until `resume`. */
  | { readonly type: 'pause'; readonly actor: string; readonly note?: string }
  | { readonly type: 'resume'; readonly actor: string; readonly note?: string }
  /** A paused participant was resumed (by `actor`): its held commands may go. */
  | { readonly type: 'participant_resumed'; readonly actor: string; readonly participant: string }
  /** Sends a step's scheduled attempt now, skipping the rest of its backoff or hold. */
  | { readonly type: 'retry_now'; readonly actor: string; readonly stepId: string; readonly note?: string }
  /** Sets how many more attempts a step may use in its current phase. */
  | {
      readonly type: 'set_attempts';
      readonly actor: string;
      readonly stepId: string;
      readonly attemptsLeft: number;
      readonly note?: string;
    }
  /** Counts a forward step as succeeded with this output, so its dependents run. */
  | {
      readonly type: 'skip';
      readonly actor: string;
      readonly stepId: string;
      readonly output: JsonObject | null;
      readonly note: string;
    }
  /**
   * Replaces the input of a step's commands (the mapped one, or an earlier edit) from its
   * next attempt on, and sends that attempt: now if a retry is scheduled, with a fresh
   * budget if the step is stuck.
   */
  | {
      readonly type: 'edit_input';
      readonly actor: string;
      readonly stepId: string;
      readonly input: JsonObject;
      readonly note: string;
    }
  /** Fails a forward step that has not succeeded: the rollback starts. */
  | { readonly type: 'fail_step'; readonly actor: string; readonly stepId: string; readonly note: string };

export type OperatorEventOf<T extends OperatorEvent['type']> = Extract<OperatorEvent, { type: T }>;

/** Everything that can happen to a transaction. */
export type TransactionEvent =
  /** `actor`: the API key that started it. */
  | { readonly type: 'started'; readonly actor: string }
  | ({ readonly type: 'reply' } & StepReply)
  /** The transaction's due time (see nextDueAt) has come: act on every timer due at `now`. */
  | { readonly type: 'timer' }
  | OperatorEvent;

/** Why the shell holds a command back: its participant's circuit is open, or it has too many commands out. */
export const HOLD_REASONS = ['circuit_open', 'in_flight_limit'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/** Why a command waits for a resume: its transaction, or its participant, is paused. */
export type PauseReason = 'transaction_paused' | 'participant_paused';

export type Admission =
  | { readonly admitted: true }
  /** `retryAt`, later than `now`, is when the machine asks again. */
  | { readonly admitted: false; readonly reason: HoldReason; readonly retryAt: number }
  /** An operator paused the participant: the transaction pauses until it is resumed. */
  | { readonly admitted: false; readonly reason: 'participant_paused' };

/**
 * The shell's protection of participants, asked before every command is sent. An admission
 * counts against the participant's limits, so the machine asks only for a command it then sends.
 */
export interface Gate {
  admit(participant: string): Admission;
}

/** What the shell observed of each participant's reply times: adaptive step timeouts follow it. */
export interface ReplyTimes {
  /**
   * The participant's reply times at the policy's percentile, or null while too few are
   * known. Told the whole policy, so that the shell can show the timeout in force of each.
   */
  estimate(participant: string, policy: EffectiveAdaptiveTimeout): ReplyTimeEstimate | null;
}

/** What a decision depends on besides the state and the event. */
export interface DecideContext {
  /** The definition version the transaction is pinned to. */
  readonly definition: ResolvedDefinition;
  readonly input: JsonObject;
  /** The current instant, ms since the epoch. */
  readonly now: number;
  /** Uniform in [0, 1), used for retry jitter. */
  readonly random: () => number;
  readonly gate: Gate;
  readonly replyTimes: ReplyTimes;
  /**
   * Commands larger than this (bytes of their JSON) are never sent: no participant would
   * accept them, nor the broker (dispatchAttempt). Unset: no limit.
   */
  readonly maxCommandBytes?: number;
}
