// Test support shared by every protocol's machine (excluded from the build by its folder name).
import { JsonObject, Outcome, Phase, PHASES, ReplyError, TxType } from '@ordo/protocol';
import { AdaptiveTimeout, resolveDefinition, ResolvedDefinition, RetryPolicy, StepDefinition } from '../definition/definition';
import { Decision } from '../transaction/decision';
import { Effect, SendEffect } from '../transaction/effects';
import { HistoryEvent } from '../transaction/history';
import { DecideContext, Gate, ReplyTimes, TransactionEvent } from '../transaction/inputs';
import { TransactionState } from '../transaction/transaction-state';

/** One protocol's pure machine, as a test drives it. */
export interface Machine<S extends TransactionState> {
  initial(definition: ResolvedDefinition): S;
  decide(state: S, event: TransactionEvent, ctx: DecideContext): Decision<S>;
  nextDueAt(state: S, definition: ResolvedDefinition): number | null;
}

export interface TestStep {
  readonly id: string;
  readonly dependsOn?: readonly string[];
  /** Saga only: no compensation. */
  readonly pivot?: boolean;
  readonly input?: JsonObject;
  readonly retry?: Partial<RetryPolicy>;
  readonly timeoutMs?: number;
  readonly adaptiveTimeout?: AdaptiveTimeout;
}

export interface TestOptions {
  /** Whole-transaction deadline. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly stepTimeoutMs?: number;
}

/**
 * Participant `svc`, action `do-<id>` (and, for a saga step that is not a pivot, compensation
 * `undo-<id>`); deterministic retry delays.
 */
export function testDefinition(type: TxType, steps: readonly TestStep[], options: TestOptions = {}): ResolvedDefinition {
  return resolveDefinition({
    name: 'test',
    type,
    timeoutMs: options.timeoutMs,
    defaults: {
      timeoutMs: options.stepTimeoutMs ?? 1000,
      retry: { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1000, jitter: 'none', ...options.retry },
    },
    steps: steps.map(({ pivot, ...step }): StepDefinition => ({
      participant: 'svc',
      action: `do-${step.id}`,
      ...(type === 'saga' && !pivot ? { compensation: `undo-${step.id}` } : {}),
      ...step,
    })),
  });
}

/** Lets every command through: no participant needs protecting. */
export const ADMIT_ALL: Gate = { admit: () => ({ admitted: true }) };

/** No reply time observed yet: every adaptive timeout is its maximum. */
export const NO_REPLY_TIMES: ReplyTimes = { estimate: () => null };

export const sendsOf = (effects: readonly Effect[]): SendEffect[] => effects.filter((effect): effect is SendEffect => effect.kind === 'send');

export const historyOf = (effects: readonly Effect[]): HistoryEvent[] =>
  effects.flatMap((effect) => (effect.kind === 'record' ? [effect.event] : []));

/** `phase:stepId#attempt` for each command sent, e.g. `execute:a#1`. */
export const sent = (effects: readonly Effect[]): string[] => sendsOf(effects).map((send) => `${send.phase}:${send.stepId}#${send.attempt}`);

/** A transaction driven by hand: applies events at a fake clock and keeps the latest state. */
export class MachineRun<S extends TransactionState> {
  state: S;
  effects: readonly Effect[] = [];
  gate: Gate = ADMIT_ALL;
  replyTimes: ReplyTimes = NO_REPLY_TIMES;
  /** The shell's limit on a command's size (DecideContext.maxCommandBytes); none by default. */
  maxCommandBytes?: number;

  constructor(
    readonly machine: Machine<S>,
    readonly definition: ResolvedDefinition,
    readonly input: JsonObject = {},
    public now = 1_000_000,
    readonly random: () => number = () => 0.5,
  ) {
    this.state = machine.initial(definition);
  }

  apply(event: TransactionEvent): Decision<S> {
    const decision = this.machine.decide(this.state, event, {
      definition: this.definition,
      input: this.input,
      now: this.now,
      random: this.random,
      gate: this.gate,
      replyTimes: this.replyTimes,
      maxCommandBytes: this.maxCommandBytes,
    });
    if (decision.accepted) {
      this.state = decision.state;
      this.effects = decision.effects;
    }
    return decision;
  }

  start(): this {
    this.apply({ type: 'started', actor: 'ann' });
    return this;
  }

  /** Answers the attempt the step waits for, unless `phase`/`attempt` say otherwise. */
  reply(stepId: string, outcome: Outcome, extra: { output?: JsonObject; error?: ReplyError; phase?: Phase; attempt?: number } = {}): Decision<S> {
    const { phase, attempt } = this.state.steps[stepId] ?? { phase: PHASES[this.definition.type][0], attempt: 1 };
    return this.apply({ type: 'reply', stepId, phase, attempt, outcome, ...extra });
  }

  /** Moves the clock on and fires the timer. */
  after(ms: number): Decision<S> {
    this.now += ms;
    return this.apply({ type: 'timer' });
  }

  /** Moves the clock to the next due time, if any, and fires the timer. */
  untilDue(): Decision<S> {
    const due = this.machine.nextDueAt(this.state, this.definition);
    if (due === null) throw new Error('nothing is due');
    return this.after(Math.max(0, due - this.now));
  }

  step(id: string): S['steps'][string] {
    return this.state.steps[id] as S['steps'][string];
  }

  get sent(): string[] {
    return sent(this.effects);
  }

  get history(): HistoryEvent[] {
    return historyOf(this.effects);
  }
}
