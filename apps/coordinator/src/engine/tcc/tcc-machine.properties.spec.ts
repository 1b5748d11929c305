import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Outcome } from '@ordo/protocol';
import { JITTERS, resolveDefinition, ResolvedDefinition, StepDefinition, WorkflowDefinition } from '../definition/definition';
import { validateDefinition } from '../definition/definition-validator';
import { arbMoves, Move, RandomGate, seededRandom, StatusFollower, STOPPED } from '../test/scenarios';
import { TccRun } from '../test/tcc-harness';
import { Decision } from '../transaction/decision';
import { SendEffect } from '../transaction/effects';
import { HistoryEvent } from '../transaction/history';
import { TransactionEvent } from '../transaction/inputs';
import { isFinished } from '../transaction/transaction-state';
import { nextDueAt, TccState } from './tcc-machine';

// ---- scenarios: a random DAG of tries and a random sequence of deliveries ----

const arbDefinition: fc.Arbitrary<ResolvedDefinition> = fc
  .integer({ min: 1, max: 8 })
  .chain((count) =>
    fc.record({
      steps: fc.tuple(
        ...Array.from({ length: count }, (_, index) =>
          fc.record({
            // Dependencies only on earlier steps: a topological order by construction.
            dependsOn: fc.subarray(Array.from({ length: index }, (_, dep) => `s${dep}`)),
            maxAttempts: fc.integer({ min: 1, max: 3 }),
            timeoutMs: fc.integer({ min: 10, max: 200 }),
          }),
        ),
      ),
      timeoutMs: fc.option(fc.integer({ min: 50, max: 3000 }), { nil: undefined }),
      initialDelayMs: fc.integer({ min: 0, max: 50 }),
      extraDelayMs: fc.integer({ min: 0, max: 200 }),
      multiplier: fc.constantFrom(1, 1.5, 2, 3),
      jitter: fc.constantFrom(...JITTERS),
    }),
  )
  .map(({ steps, timeoutMs, initialDelayMs, extraDelayMs, multiplier, jitter }) => {
    const body: WorkflowDefinition = {
      name: 'generated',
      type: 'tcc',
      ...(timeoutMs !== undefined && { timeoutMs }),
      defaults: { retry: { initialDelayMs, maxDelayMs: initialDelayMs + extraDelayMs, multiplier, jitter } },
      steps: steps.map(
        ({ maxAttempts, ...step }, index): StepDefinition => ({
          id: `s${index}`,
          participant: 'svc',
          action: `do-s${index}`,
          retry: { maxAttempts },
          ...step,
        }),
      ),
    };
    const validation = validateDefinition(body);
    if (!validation.ok) throw new Error(`generator made an invalid definition: ${JSON.stringify(validation.problems)}`);
    return resolveDefinition(validation.definition);
  });

interface Scenario {
  readonly definition: ResolvedDefinition;
  readonly moves: readonly Move[];
  /** After the moves: participants go silent (only timeouts), or answer everything with success. */
  readonly ending: 'silence' | 'recovery';
  /** How often the gate holds a command back. */
  readonly refusalRate: number;
  readonly seed: number;
}

const arbScenario = (failureWeight = 1): fc.Arbitrary<Scenario> =>
  fc.record({
    definition: arbDefinition,
    moves: arbMoves(failureWeight),
    ending: fc.constantFrom('silence', 'recovery'),
    refusalRate: fc.constantFrom(0, 0.3, 0.7),
    seed: fc.integer(),
  });

// ---- a driver that delivers commands and replies, checking every decision ----

type Command = Pick<SendEffect, 'stepId' | 'phase' | 'attempt'>;

class Simulation {
  readonly tcc: TccRun;
  readonly gate: RandomGate;
  readonly transcript: Decision<TccState>[] = [];
  /** Commands sent and not yet answered or lost. */
  outstanding: SendEffect[] = [];
  readonly everSent: SendEffect[] = [];
  /** Steps whose try was sent at least once. */
  readonly tried = new Set<string>();
  /** Steps whose try was answered `success` (an accepted reply). */
  readonly trySucceeded = new Set<string>();
  /** The decision recorded in the history: taken once, never changed. */
  decision: 'commit' | 'abort' | null = null;
  /** Which second phase went out: confirm or cancel, never both. */
  secondPhase: 'confirm' | 'cancel' | null = null;
  private readonly lastAttempt = new Map<string, number>();
  private readonly statuses: StatusFollower;

  constructor(
    readonly definition: ResolvedDefinition,
    seed: number,
    refusalRate: number,
  ) {
    this.tcc = new TccRun(definition, { order: 42 }, 1_000_000, seededRandom(seed));
    this.gate = new RandomGate(this.tcc, refusalRate, seededRandom(~seed));
    this.tcc.gate = this.gate;
    this.statuses = new StatusFollower(definition.steps.map((step) => step.id));
    this.apply({ type: 'started' });
  }

  get state(): TccState {
    return this.tcc.state;
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
        const step = this.state.steps[id];
        const phases = (['try', 'confirm', 'cancel'] as const).filter((phase) => phase !== step.phase);
        const phase = move.pick % 2 === 0 ? step.phase : phases[move.pick % phases.length];
        const attempt = phase === step.phase ? step.attempt + 1 + (move.pick % 3) : 1 + (move.pick % 3);
        return this.answer({ stepId: id, phase, attempt }, move.outcome);
      }
      case 'drop':
        this.outstanding = this.outstanding.filter((_, index) => index !== move.pick % this.outstanding.length);
        return;
      case 'wait':
        this.tcc.now += move.ms;
        this.apply({ type: 'timer' });
        return;
      case 'abort':
        this.apply({ type: 'abort', actor: 'prop' });
        return;
    }
  }

  operatorRetry(): void {
    expect(this.apply({ type: 'retry', actor: 'prop' }).accepted).toBe(true);
  }

  /**
   * Runs until the transaction stops, answering awaited commands with success in `recovery`,
   * and only letting timers fire in `silence`. Returns how many events it took.
   */
  runToTheEnd(ending: Scenario['ending'], limit: number): number {
    let events = 0;
    for (; !STOPPED.includes(this.state.status) && events <= limit; events++) {
      const awaited = ending === 'recovery' ? this.outstanding.find((command) => this.isAwaited(command)) : undefined;
      this.outstanding = this.outstanding.filter((command) => command !== awaited);
      if (awaited) this.answer(awaited, 'success');
      else this.waitUntilDue();
    }
    return events;
  }

  private waitUntilDue(): void {
    const due = nextDueAt(this.state, this.definition);
    // Liveness: a transaction that is not stopped always has something due.
    assert.notEqual(due, null, 'nothing is due in an active transaction');
    this.tcc.now = Math.max(this.tcc.now, due ?? 0);
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
    assert.equal(decision.state, before);
    assert.deepEqual(
      decision.effects.map((effect) => effect.kind === 'record' && effect.event.type),
      ['step.reply_ignored'],
    );
  }

  private apply(event: TransactionEvent): Decision<TccState> {
    const before = this.state;
    this.gate.verdicts = [];
    const decision = this.tcc.apply(event);
    this.transcript.push(decision);
    if (!decision.accepted) {
      // Only an abort may be refused here: every other event the driver sends is legitimate.
      assert.equal(event.type, 'abort');
      assert.ok(['not_running', 'past_point_of_no_return'].includes(decision.rejection.code));
      return decision;
    }
    if (isFinished(before.status)) assert.deepEqual(decision.state, before, 'a finished transaction changed');
    this.gate.check(decision.effects, decision.state);
    // In order: a timer pass may send a due try before a later timer decides to cancel.
    for (const effect of decision.effects) {
      if (effect.kind === 'send') this.checkSend(effect, before, decision.state);
      else this.followHistory(effect.event, before);
    }
    this.statuses.follow(decision.effects, decision.state);
    this.checkState(decision.state);
    return decision;
  }

  /** Follows successful tries and the decision, which must be taken once, commit only when every try succeeded in time. */
  private followHistory(event: HistoryEvent, before: TccState): void {
    if (event.type === 'step.replied' && event.phase === 'try' && event.outcome === 'success') {
      this.trySucceeded.add(event.stepId);
    }
    if (event.type !== 'transaction.decided') return;
    assert.equal(this.decision, null, 'decided twice');
    this.decision = event.decision;
    if (event.decision === 'abort') return;
    const untried = this.definition.steps.filter(({ id }) => !this.trySucceeded.has(id));
    assert.deepEqual(untried, [], 'decided to confirm before every try succeeded');
    if (before.deadline !== null) assert.ok(this.tcc.now < before.deadline, 'decided to confirm after the deadline');
  }

  private checkSend(send: SendEffect, before: TccState, after: TccState): void {
    const { stepId, phase, attempt, action, input } = send;
    const spec = this.definition.steps.find((step) => step.id === stepId)!;
    const previous = before.steps[stepId];
    if (previous.waitingFor === 'hold' && previous.phase === phase) {
      assert.ok(this.tcc.now >= previous.dueAt!, `${stepId} sent before its hold ended`);
    }
    const key = `${stepId}/${phase}`;
    assert.equal(attempt, (this.lastAttempt.get(key) ?? 0) + 1, `attempts of ${key} are not consecutive`);
    this.lastAttempt.set(key, attempt);
    // Every phase carries the step's action and the transaction input (no mapping here).
    assert.equal(action, spec.action);
    assert.deepEqual(input, { order: 42 });
    switch (phase) {
      case 'try': {
        assert.equal(this.decision, null, `${stepId} tried after the decision`);
        const blocking = spec.dependsOn.filter((id) => !this.trySucceeded.has(id));
        assert.deepEqual(blocking, [], `${stepId} tried before its dependencies`);
        this.tried.add(stepId);
        break;
      }
      case 'confirm':
        // Only after the commit decision, so only once every try succeeded.
        assert.equal(this.decision, 'commit', `${stepId} confirmed without the commit decision`);
        assert.notEqual(this.secondPhase, 'cancel', 'confirm after cancel');
        this.secondPhase = 'confirm';
        break;
      case 'cancel':
        assert.equal(this.decision, 'abort', `${stepId} cancelled without the abort decision`);
        assert.notEqual(this.secondPhase, 'confirm', 'cancel after confirm');
        assert.ok(this.tried.has(stepId), `${stepId} cancelled but never tried`);
        this.secondPhase = 'cancel';
        break;
      default:
        assert.fail(`phase ${phase} in a TCC transaction`);
    }
    this.outstanding.push(send);
    this.everSent.push(send);
  }

  private checkState(state: TccState): void {
    const steps = this.definition.steps.map(({ id }) => ({ id, step: state.steps[id] }));
    if (!STOPPED.includes(state.status)) return;
    assert.equal(
      steps.filter(({ step }) => step.waitingFor !== null).length,
      0,
      'work in flight in a stopped transaction',
    );
    switch (state.status) {
      case 'completed':
        assert.equal(this.decision, 'commit');
        for (const { id, step } of steps) assert.deepEqual([step.phase, step.status], ['confirm', 'succeeded'], id);
        break;
      case 'compensated':
        assert.notEqual(state.rollback, null);
        assert.equal(this.decision, 'abort');
        // Every step whose try may have run was cancelled; the others were skipped.
        for (const { id, step } of steps) {
          const expected = this.tried.has(id) ? ['cancel', 'compensated'] : ['try', 'skipped'];
          assert.deepEqual([step.phase, step.status], expected, `${id} in a compensated transaction`);
        }
        break;
      case 'failed': {
        assert.equal(this.decision, state.rollback ? 'abort' : 'commit');
        const stuck = state.rollback
          ? steps.filter(({ step }) => step.phase === 'cancel' && step.status === 'compensation_failed')
          : steps.filter(({ step }) => step.phase === 'confirm' && step.status === 'failed');
        assert.ok(stuck.length > 0, 'failed without a stuck confirm or cancel');
        break;
      }
    }
  }
}

/** Each attempt of each of the two phases takes at most a send, a timeout and a reply, plus the deadline. */
const eventBound = (definition: ResolvedDefinition): number =>
  definition.steps.reduce((sum, step) => sum + 6 * step.retry.maxAttempts, 1);

function simulate({ definition, moves, ending, refusalRate, seed }: Scenario): Simulation {
  const simulation = new Simulation(definition, seed, refusalRate);
  moves.forEach((move) => simulation.play(move));
  // Termination assumes a gate that admits in the end: each of its last refusals costs one
  // more event (the timer that tries the held step again).
  simulation.gate.budget = 2 * definition.steps.length;
  const bound = eventBound(definition) + simulation.gate.budget;
  expect(simulation.runToTheEnd(ending, bound)).toBeLessThanOrEqual(bound);
  return simulation;
}

describe('tcc machine properties', () => {
  it('terminates in a status matching the outcomes, keeping every invariant on the way', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbScenario(), (scenario) => {
        const { state } = simulate(scenario);
        expect(STOPPED).toContain(state.status);
        seen.add(state.status);
      }),
      { numRuns: 5000 },
    );
    expect([...seen].sort()).toEqual(['compensated', 'completed', 'failed']);
  });

  it('is deterministic: the same scenario gives the same decisions', () => {
    fc.assert(
      fc.property(arbScenario(), (scenario) => {
        assert.deepEqual(simulate(scenario).transcript, simulate(scenario).transcript);
      }),
      { numRuns: 1000 },
    );
  });

  it('ends a replayed failed transaction compensated, or completed if it was confirming', () => {
    let replayed = 0;
    fc.assert(
      fc.property(arbScenario(4), (scenario) => {
        const simulation = simulate(scenario);
        const { status, rollback } = simulation.state;
        if (status !== 'failed') return;
        replayed++;
        simulation.operatorRetry();
        simulation.runToTheEnd('recovery', eventBound(scenario.definition) + simulation.gate.budget);
        expect(simulation.state.status).toBe(rollback ? 'compensated' : 'completed');
      }),
      { numRuns: 3000 },
    );
    expect(replayed).toBeGreaterThan(300);
  });
});
