// Random scenarios for the machines' property tests: deliveries, a flaky gate, and checks
// every protocol shares (excluded from the build by its folder name).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonObject, Outcome, TxType } from '@ordo/protocol';
import { JITTERS, resolveDefinition, ResolvedDefinition, StepDefinition, WorkflowDefinition } from '../definition/definition';
import { validateDefinition } from '../definition/definition-validator';
import { Decision, Rejection, RejectionCode } from '../transaction/decision';
import { Effect, SendEffect } from '../transaction/effects';
import { HistoryEvent } from '../transaction/history';
import { Admission, Gate, HOLD_REASONS, ReplyTimes, TransactionEvent } from '../transaction/inputs';
import { ReplyTimeEstimate } from '../timeouts/reply-time-window';
import { isFinished, StepStatus, TransactionState, TxStatus } from '../transaction/transaction-state';
import { Machine, MachineRun, sendsOf } from './machine-harness';

export type Move =
  /** Answer a command still waiting for its reply. */
  | { readonly kind: 'reply'; readonly pick: number; readonly outcome: Outcome }
  /** Deliver a reply to any command ever sent again: duplicates, late and out-of-order replies. */
  | { readonly kind: 'redeliver'; readonly pick: number; readonly outcome: Outcome }
  /** A reply to an attempt never sent, or for a phase the step is not in. */
  | { readonly kind: 'bogus'; readonly pick: number; readonly outcome: Outcome }
  /** Lose a command: only its timeout will tell. */
  | { readonly kind: 'drop'; readonly pick: number }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'abort' }
  /** An operator pauses or resumes the transaction. */
  | { readonly kind: 'pause' }
  | { readonly kind: 'resume' }
  /** An operator edits a step's input and retries it (refused unless it waits for a retry or is stuck). */
  | { readonly kind: 'edit'; readonly pick: number };

export const arbOutcome = (failureWeight: number): fc.Arbitrary<Outcome> =>
  fc.oneof(
    { arbitrary: fc.constant<Outcome>('success'), weight: 6 },
    { arbitrary: fc.constant<Outcome>('failure'), weight: failureWeight },
    { arbitrary: fc.constant<Outcome>('retry'), weight: 2 },
  );

export const arbMoves = (failureWeight: number): fc.Arbitrary<Move[]> => {
  const answer = <K extends 'reply' | 'redeliver' | 'bogus'>(kind: K) =>
    fc.record({ kind: fc.constant(kind), pick: fc.nat(), outcome: arbOutcome(failureWeight) });
  return fc.array(
    fc.oneof(
      { arbitrary: answer('reply'), weight: 10 },
      { arbitrary: answer('redeliver'), weight: 2 },
      { arbitrary: answer('bogus'), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('drop'), pick: fc.nat() }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('wait'), ms: fc.integer({ min: 0, max: 400 }) }), weight: 3 },
      { arbitrary: fc.constant({ kind: 'abort' as const }), weight: 1 },
      { arbitrary: fc.constant({ kind: 'pause' as const }), weight: 1 },
      { arbitrary: fc.constant({ kind: 'resume' as const }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('edit'), pick: fc.nat() }), weight: 1 },
    ),
    { maxLength: 60 },
  );
};

/** Statuses in which nothing happens without an operator. */
export const STOPPED: readonly TxStatus[] = ['completed', 'compensated', 'failed'];

/** A small deterministic PRNG, so a scenario replays exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A gate that holds commands back at random, for a random while. In the ending it refuses
 * only `budget` more times: a gate that never admits again would stall any transaction.
 */
export class RandomGate implements Gate {
  /** What it answered during the current decision. */
  verdicts: Admission[] = [];
  budget = Infinity;

  constructor(
    private readonly clock: { readonly now: number },
    private readonly rate: number,
    private readonly random: () => number,
  ) {}

  admit(): Admission {
    const refuse = this.budget > 0 && this.random() < this.rate;
    const reason = HOLD_REASONS[Math.floor(this.random() * HOLD_REASONS.length)];
    const verdict: Admission = refuse
      ? { admitted: false, reason, retryAt: this.clock.now + 1 + Math.floor(this.random() * 300) }
      : { admitted: true };
    if (refuse) this.budget--;
    this.verdicts.push(verdict);
    return verdict;
  }

  /**
   * Every command of the decision was admitted, every admission was used, and each hold was
   * recorded as refused. A held step still waiting in its phase waits until the gate's time.
   */
  check(effects: readonly Effect[], after: TransactionState): void {
    const admitted = this.verdicts.filter((verdict) => verdict.admitted);
    assert.equal(sendsOf(effects).length, admitted.length, 'commands sent differ from admissions');
    const refusals = this.verdicts.flatMap((verdict) => ('retryAt' in verdict ? [verdict] : []));
    const lastHeld = new Map<string, Extract<HistoryEvent, { type: 'step.held' }>>();
    for (const effect of effects) {
      // A pause holds without asking the gate (and without an end).
      if (effect.kind !== 'record' || effect.event.type !== 'step.held' || effect.event.until === undefined) continue;
      const { stepId, reason, until } = effect.event;
      const index = refusals.findIndex((refusal) => refusal.reason === reason && refusal.retryAt === until);
      assert.ok(index >= 0, `${stepId} held without a refusal`);
      refusals.splice(index, 1);
      lastHeld.set(stepId, effect.event);
    }
    // (A rollback in the same decision may have dropped a held forward attempt.)
    for (const [stepId, { phase, until }] of lastHeld) {
      const step = after.steps[stepId];
      if (step.phase === phase && step.waitingFor !== null) assert.deepEqual([step.waitingFor, step.dueAt], ['hold', until]);
    }
  }
}

/** Replays the recorded status changes: they must always give the current statuses. */
export class StatusFollower {
  private readonly steps = new Map<string, StepStatus>();
  private transaction: TxStatus = 'running';

  constructor(stepIds: readonly string[]) {
    stepIds.forEach((id) => this.steps.set(id, 'pending'));
  }

  follow(effects: readonly Effect[], after: TransactionState): void {
    for (const effect of effects) {
      if (effect.kind !== 'record') continue;
      const { event } = effect;
      if (event.type === 'step.status_changed') {
        assert.equal(this.steps.get(event.stepId), event.from);
        this.steps.set(event.stepId, event.to);
      } else if (event.type === 'transaction.status_changed') {
        assert.equal(this.transaction, event.from);
        this.transaction = event.to;
      }
    }
    assert.equal(this.transaction, after.status);
    for (const [id, step] of Object.entries(after.steps)) assert.equal(this.steps.get(id), step.status);
  }
}

// ---- a driver that delivers commands and replies, checking every decision ----
// (node:assert rather than expect in this hot loop: it keeps the suite fast)

export interface Scenario {
  readonly definition: ResolvedDefinition;
  readonly moves: readonly Move[];
  /** After the moves: participants go silent (only timeouts), or answer everything with success. */
  readonly ending: 'silence' | 'recovery';
  /** How often the gate holds a command back. */
  readonly refusalRate: number;
  readonly seed: number;
}

export const arbScenario = (definition: fc.Arbitrary<ResolvedDefinition>, failureWeight = 1): fc.Arbitrary<Scenario> =>
  fc.record({
    definition,
    moves: arbMoves(failureWeight),
    ending: fc.constantFrom('silence', 'recovery'),
    refusalRate: fc.constantFrom(0, 0.3, 0.7),
    seed: fc.integer(),
  });

/** Validates and resolves a generated definition: the generators must make only valid ones. */
export function generatedDefinition(body: WorkflowDefinition): ResolvedDefinition {
  const validation = validateDefinition(body);
  if (!validation.ok) throw new Error(`generator made an invalid definition: ${JSON.stringify(validation.problems)}`);
  return resolveDefinition(validation.definition);
}

export type Command = Pick<SendEffect, 'stepId' | 'phase' | 'attempt'>;

/**
 * Plays a scenario's moves against one protocol's machine and checks what every protocol
 * promises on each decision: stale replies change nothing, a finished transaction stays as it
 * is, the gate is obeyed, attempts count up by one, the recorded statuses add up. Each protocol
 * adds its own checks of the commands sent, the history and the state.
 */
export abstract class ScenarioDriver<S extends TransactionState> {
  readonly run: MachineRun<S>;
  readonly gate: RandomGate;
  readonly transcript: Decision<S>[] = [];
  /** Commands sent and not yet answered or lost. */
  outstanding: SendEffect[] = [];
  readonly everSent: SendEffect[] = [];
  private readonly lastAttempt = new Map<string, number>();
  /** The input an operator last gave each step. */
  private readonly edited = new Map<string, JsonObject>();
  /** The type of the event being applied. */
  private applying: TransactionEvent['type'] | null = null;
  private readonly statuses: StatusFollower;

  /** The rejection codes an operator abort may meet. */
  protected abstract readonly abortRejections: readonly RejectionCode[];

  constructor(
    machine: Machine<S>,
    readonly definition: ResolvedDefinition,
    seed: number,
    refusalRate: number,
  ) {
    this.run = new MachineRun(machine, definition, { order: 42 }, 1_000_000, seededRandom(seed));
    this.gate = new RandomGate(this.run, refusalRate, seededRandom(~seed));
    this.run.gate = this.gate;
    this.run.replyTimes = new RandomReplyTimes(seededRandom(seed ^ 0x5bd1e995));
    this.statuses = new StatusFollower(definition.steps.map(({ id }) => id));
  }

  get state(): S {
    return this.run.state;
  }

  /** Starts the transaction (not in the constructor: the subclass's fields must exist first). */
  start(): this {
    this.apply({ type: 'started', actor: 'ann' });
    return this;
  }

  play(move: Move): void {
    switch (move.kind) {
      case 'reply': {
        const command = this.outstanding[move.pick % this.outstanding.length];
        if (!command) return;
        this.outstanding = this.outstanding.filter((other) => other !== command);
        return this.answer(command, move.outcome);
      }
      case 'redeliver': {
        const command = this.everSent[move.pick % this.everSent.length];
        if (command) this.answer(command, move.outcome);
        return;
      }
      case 'bogus': {
        const { id } = this.definition.steps[move.pick % this.definition.steps.length];
        return this.answer({ stepId: id, ...this.bogus(this.run.step(id), move.pick) }, move.outcome);
      }
      case 'drop':
        this.outstanding = this.outstanding.filter((_, index) => index !== move.pick % this.outstanding.length);
        return;
      case 'wait':
        this.run.now += move.ms;
        this.apply({ type: 'timer' });
        return;
      case 'abort':
      case 'pause':
      case 'resume':
        this.apply({ type: move.kind, actor: 'prop' });
        return;
      case 'edit': {
        const { id } = this.definition.steps[move.pick % this.definition.steps.length];
        const input = { edited: move.pick };
        const previous = this.edited.get(id);
        // Set first: the retry it sends at once must carry it too.
        this.edited.set(id, input);
        if (!this.apply({ type: 'edit_input', actor: 'prop', stepId: id, input, note: 'prop' }).accepted) {
          if (previous) this.edited.set(id, previous);
          else this.edited.delete(id);
        }
        return;
      }
    }
  }

  operatorRetry(): void {
    assert.ok(this.apply({ type: 'retry', actor: 'prop' }).accepted, 'the operator retry was refused');
  }

  /**
   * Runs until the transaction stops, answering awaited commands with success in `recovery`,
   * and only letting timers fire in `silence`. Returns how many events it took.
   */
  runToTheEnd(ending: Scenario['ending'], limit: number): number {
    // A paused transaction waits for its operator: they resume it first.
    if (this.state.paused) this.apply({ type: 'resume', actor: 'prop' });
    let events = 0;
    for (; !STOPPED.includes(this.state.status) && events <= limit; events++) {
      const awaited = ending === 'recovery' ? this.outstanding.find((command) => this.isAwaited(command)) : undefined;
      this.outstanding = this.outstanding.filter((command) => command !== awaited);
      if (awaited) this.answer(awaited, 'success');
      else this.waitUntilDue();
    }
    return events;
  }

  /** A reply to an attempt never sent, or for a phase the step is not in. */
  protected abstract bogus(step: S['steps'][string], pick: number): Pick<Command, 'phase' | 'attempt'>;

  /** Checks a command sent (in the order of the effects), before the driver counts it outstanding. */
  protected abstract checkSend(send: SendEffect, before: S, after: S): void;

  /** Follows a history event (in the order of the effects). */
  protected followHistory(event: HistoryEvent, before: S): void {
    void event;
    void before;
  }

  /** Checks a refused abort beyond its code. */
  protected checkRejected(rejection: Rejection, before: S): void {
    void rejection;
    void before;
  }

  /** Checks the state after an accepted decision. */
  protected abstract checkState(state: S, before: S): void;

  /** A step waiting for the end of a hold is not sent before (unless an operator's edit sends it: the gate is asked again). */
  protected checkHoldEnded({ stepId, phase }: SendEffect, before: S): void {
    if (this.applying === 'edit_input') return;
    const previous = before.steps[stepId];
    if (previous.waitingFor === 'hold' && previous.phase === phase) {
      assert.ok(this.run.now >= previous.dueAt!, `${stepId} sent before its hold ended`);
    }
  }

  private waitUntilDue(): void {
    const due = this.run.machine.nextDueAt(this.state, this.definition);
    // Liveness: a transaction that is not stopped always has something due.
    assert.notEqual(due, null, 'nothing is due in an active transaction');
    this.run.now = Math.max(this.run.now, due ?? 0);
    this.apply({ type: 'timer' });
  }

  private isAwaited({ stepId, phase, attempt }: Command): boolean {
    const step = this.state.steps[stepId];
    return step.waitingFor === 'reply' && step.phase === phase && step.attempt === attempt;
  }

  private answer(command: Command, outcome: Outcome): void {
    const before = this.state;
    const awaited = !isFinished(before.status) && this.isAwaited(command);
    const { stepId, phase, attempt } = command;
    const decision = this.apply({ type: 'reply', stepId, phase, attempt, outcome, output: { from: stepId } });
    if (awaited) return;
    // A reply that does not answer the awaited attempt changes nothing but the history.
    assert.ok(decision.accepted);
    assert.equal(decision.state, before, 'an ignored reply changed the state');
    assert.deepEqual(
      decision.effects.map((effect) => effect.kind === 'record' && effect.event.type),
      ['step.reply_ignored'],
    );
  }

  private apply(event: TransactionEvent): Decision<S> {
    const before = this.state;
    this.gate.verdicts = [];
    this.applying = event.type;
    const decision = this.run.apply(event);
    this.transcript.push(decision);
    if (!decision.accepted) {
      // Only operator requests may be refused here: every other event the driver sends is legitimate.
      const { code } = decision.rejection;
      if (event.type === 'pause') assert.ok(['not_running', 'already_paused'].includes(code), `pause refused: ${code}`);
      else if (event.type === 'edit_input') assert.ok(['step_not_retriable', 'not_applicable', 'paused'].includes(code), `edit refused: ${code}`);
      else if (event.type === 'resume') assert.ok(code === 'not_paused' && !before.paused?.actor, `resume refused: ${code}`);
      else {
        assert.equal(event.type, 'abort', `${event.type} refused`);
        assert.ok(this.abortRejections.includes(code));
        this.checkRejected(decision.rejection, before);
      }
      return decision;
    }
    if (isFinished(before.status)) assert.deepEqual(decision.state, before, 'a finished transaction changed');
    // A paused transaction sends nothing and has no timer; a timer changes nothing in it.
    if (decision.state.paused) {
      assert.deepEqual(sendsOf(decision.effects), [], 'a paused transaction sent a command');
      assert.equal(this.run.machine.nextDueAt(decision.state, this.definition), null, 'a paused transaction has a timer');
    }
    if (before.paused && event.type === 'timer') assert.equal(decision.state, before, 'a timer changed a paused transaction');
    this.gate.check(decision.effects, decision.state);
    // In order: a timer pass may send a due command before a later timer rolls back.
    for (const effect of decision.effects) {
      if (effect.kind === 'send') this.countSend(effect, before, decision.state);
      else this.followHistory(effect.event, before);
    }
    this.statuses.follow(decision.effects, decision.state);
    this.checkState(decision.state, before);
    return decision;
  }

  /** An attempt waits its step's fixed timeout, or an adaptive one within its bounds, kept on the step while it is the latest. */
  private checkTimeout({ stepId, phase, attempt, deadline }: SendEffect, after: S): void {
    const { timeoutMs, adaptiveTimeout } = this.definition.steps.find((spec) => spec.id === stepId)!;
    const waits = deadline - this.run.now;
    if (!adaptiveTimeout) return assert.equal(waits, timeoutMs, `${stepId} did not wait its fixed timeout`);
    assert.ok(waits >= adaptiveTimeout.minMs && waits <= adaptiveTimeout.maxMs, `${stepId} waits ${waits} ms, out of its bounds`);
    const step = after.steps[stepId];
    if (step.phase === phase && step.attempt === attempt) assert.equal(step.timeoutMs, waits, `${stepId} does not keep its adaptive timeout`);
  }

  private countSend(send: SendEffect, before: S, after: S): void {
    const { stepId, phase, attempt } = send;
    const key = `${stepId}/${phase}`;
    assert.equal(attempt, (this.lastAttempt.get(key) ?? 0) + 1, `attempts of ${key} are not consecutive`);
    this.lastAttempt.set(key, attempt);
    // Generated definitions map no input: every command carries the transaction's, or the one an operator gave its step.
    assert.deepEqual(send.input, this.edited.get(stepId) ?? this.run.input, `${key} carried another input`);
    this.checkTimeout(send, after);
    this.checkSend(send, before, after);
    this.outstanding.push(send);
    this.everSent.push(send);
  }
}

/** Each attempt of each of the two phases takes at most a send, a timeout and a reply, plus the deadline. */
export const eventBound = (definition: ResolvedDefinition): number => definition.steps.reduce((sum, step) => sum + 6 * step.retry.maxAttempts, 1);

/** Observed reply times that come and go: none known yet, or a random percentile. */
export class RandomReplyTimes implements ReplyTimes {
  constructor(private readonly random: () => number) {}

  estimate(): ReplyTimeEstimate | null {
    return this.random() < 0.3 ? null : { percentileMs: Math.floor(this.random() * 500), samples: 20 };
  }
}

/** The event bound of a run to the end, the gate's last refusals included. */
export const endBound = (driver: ScenarioDriver<TransactionState>): number => eventBound(driver.definition) + driver.gate.budget;

/** Plays the scenario's moves, then runs to the end within the event bound. */
export function simulate<D extends ScenarioDriver<TransactionState>>(
  create: (definition: ResolvedDefinition, seed: number, refusalRate: number) => D,
  { definition, moves, ending, refusalRate, seed }: Scenario,
): D {
  const driver = create(definition, seed, refusalRate).start();
  moves.forEach((move) => driver.play(move));
  // Termination assumes a gate that admits in the end: each of its last refusals costs one
  // more event (the timer that tries the held step again).
  driver.gate.budget = 2 * definition.steps.length;
  const bound = endBound(driver);
  assert.ok(driver.runToTheEnd(ending, bound) <= bound, `more than ${bound} events to the end`);
  return driver;
}

type DriverFactory<S extends TransactionState> = (definition: ResolvedDefinition, seed: number, refusalRate: number) => ScenarioDriver<S>;

/** Determinism: the same scenario, played twice, gives the same decisions. */
export function assertDeterministic<S extends TransactionState>(
  create: DriverFactory<S>,
  definitions: fc.Arbitrary<ResolvedDefinition>,
  numRuns: number,
): void {
  fc.assert(
    fc.property(arbScenario(definitions), (scenario) => {
      assert.deepEqual(simulate(create, scenario).transcript, simulate(create, scenario).transcript);
    }),
    { numRuns },
  );
}

/**
 * Replays every transaction a scenario (with failures made likelier) leaves failed, and runs
 * it to the end with participants answering success: it must end as `expected` says from the
 * failed state. Returns how many transactions it replayed.
 */
export function assertReplayEnds<S extends TransactionState>(
  create: DriverFactory<S>,
  definitions: fc.Arbitrary<ResolvedDefinition>,
  expected: (failed: S) => TxStatus,
  numRuns: number,
): number {
  let replayed = 0;
  fc.assert(
    fc.property(arbScenario(definitions, 4), (scenario) => {
      const driver = simulate(create, scenario);
      const failed = driver.state;
      if (failed.status !== 'failed') return;
      replayed++;
      driver.operatorRetry();
      driver.runToTheEnd('recovery', endBound(driver));
      assert.equal(driver.state.status, expected(failed));
    }),
    { numRuns },
  );
  return replayed;
}

/** What a protocol's random definitions look like: a DAG of steps, dependencies only on earlier steps. */
export interface DefinitionShape {
  readonly type: TxType;
  readonly maxSteps: number;
  /** How many dependencies a step may have at the most (default: any). */
  readonly maxDependencies?: number;
  /** Saga only: some steps are pivots (no compensation); the others have `undo-<id>`. */
  readonly pivots?: boolean;
  /** Participants `p0`, `p1`, … in turn; default: all `svc`. */
  readonly participants?: number;
  readonly multipliers: readonly number[];
  /** The maximum retry delay beyond the initial one. */
  readonly extraDelayMs: fc.Arbitrary<number>;
}

/** Random valid definitions of the given shape, with random deadlines, budgets and backoff. */
export const arbDefinition = (shape: DefinitionShape): fc.Arbitrary<ResolvedDefinition> =>
  fc
    .integer({ min: 1, max: shape.maxSteps })
    .chain((count) =>
      fc.record({
        steps: fc.tuple(
          ...Array.from({ length: count }, (_, index) =>
            fc.record({
              // Dependencies only on earlier steps: a topological order by construction.
              dependsOn: fc.subarray(
                Array.from({ length: index }, (_, dep) => `s${dep}`),
                {
                  maxLength: Math.min(shape.maxDependencies ?? index, index),
                },
              ),
              pivot: shape.pivots ? fc.integer({ min: 0, max: 4 }).map((n) => n === 0) : fc.constant(false),
              maxAttempts: fc.integer({ min: 1, max: 3 }),
              timeout: fc.oneof(
                fc.record({ timeoutMs: fc.integer({ min: 10, max: 200 }) }),
                fc.record({
                  adaptiveTimeout: fc
                    .record({
                      minMs: fc.integer({ min: 10, max: 100 }),
                      spanMs: fc.integer({ min: 0, max: 200 }),
                      percentile: fc.constantFrom(50, 90, 99, 100),
                      factor: fc.constantFrom(1.5, 2, 3),
                    })
                    .map(({ spanMs, ...policy }) => ({ ...policy, maxMs: policy.minMs + spanMs })),
                }),
              ),
            }),
          ),
        ),
        timeoutMs: fc.option(fc.integer({ min: 50, max: 3000 }), { nil: undefined }),
        initialDelayMs: fc.integer({ min: 0, max: 50 }),
        extraDelayMs: shape.extraDelayMs,
        multiplier: fc.constantFrom(...shape.multipliers),
        jitter: fc.constantFrom(...JITTERS),
      }),
    )
    .map(({ steps, timeoutMs, initialDelayMs, extraDelayMs, multiplier, jitter }) =>
      generatedDefinition({
        name: 'generated',
        type: shape.type,
        ...(timeoutMs !== undefined && { timeoutMs }),
        defaults: { retry: { initialDelayMs, maxDelayMs: initialDelayMs + extraDelayMs, multiplier, jitter } },
        steps: steps.map(({ pivot, maxAttempts, timeout, ...step }, index): StepDefinition => ({
          id: `s${index}`,
          participant: shape.participants ? `p${index % shape.participants}` : 'svc',
          action: `do-s${index}`,
          ...(shape.type === 'saga' && !pivot ? { compensation: `undo-s${index}` } : {}),
          retry: { maxAttempts },
          ...timeout,
          ...step,
        })),
      }),
    );
