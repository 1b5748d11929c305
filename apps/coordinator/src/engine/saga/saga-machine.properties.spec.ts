import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Outcome } from '@ordo/protocol';
import {
  JITTERS,
  resolveDefinition,
  ResolvedDefinition,
  ResolvedStep,
  StepDefinition,
  WorkflowDefinition,
} from '../definition/definition';
import { validateDefinition } from '../definition/definition-validator';
import { SagaRun, sendsOf } from '../test/saga-harness';
import { arbMoves, Move, RandomGate, seededRandom, StatusFollower, STOPPED } from '../test/scenarios';
import { Decision } from '../transaction/decision';
import { SendEffect } from '../transaction/effects';
import { TransactionEvent } from '../transaction/inputs';
import { isFinished } from '../transaction/transaction-state';
import { nextDueAt, SagaState } from './saga-machine';

// ---- scenarios: a random DAG and a random sequence of deliveries ----

const arbDefinition: fc.Arbitrary<ResolvedDefinition> = fc
  .integer({ min: 1, max: 8 })
  .chain((count) =>
    fc.record({
      steps: fc.tuple(
        ...Array.from({ length: count }, (_, index) =>
          fc.record({
            // Dependencies only on earlier steps: a topological order by construction.
            dependsOn: fc.subarray(Array.from({ length: index }, (_, dep) => `s${dep}`)),
            pivot: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
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
      type: 'saga',
      ...(timeoutMs !== undefined && { timeoutMs }),
      defaults: { retry: { initialDelayMs, maxDelayMs: initialDelayMs + extraDelayMs, multiplier, jitter } },
      steps: steps.map(
        ({ pivot, maxAttempts, ...step }, index): StepDefinition => ({
          id: `s${index}`,
          participant: 'svc',
          action: `do-s${index}`,
          ...(pivot ? {} : { compensation: `undo-s${index}` }),
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
// (node:assert rather than expect in this hot loop: it keeps the suite fast)

class Simulation {
  readonly saga: SagaRun;
  readonly transcript: Decision<SagaState>[] = [];
  /** Commands sent and not yet answered or lost. */
  outstanding: SendEffect[] = [];
  readonly everSent: SendEffect[] = [];
  readonly executed = new Set<string>();
  private readonly lastAttempt = new Map<string, number>();
  private readonly statuses: StatusFollower;

  readonly gate: RandomGate;

  constructor(
    readonly definition: ResolvedDefinition,
    seed: number,
    refusalRate: number,
  ) {
    this.saga = new SagaRun(definition, { order: 42 }, 1_000_000, seededRandom(seed));
    this.gate = new RandomGate(this.saga, refusalRate, seededRandom(~seed));
    this.saga.gate = this.gate;
    this.statuses = new StatusFollower(definition.steps.map(({ id }) => id));
    this.apply({ type: 'started' });
  }

  get state(): SagaState {
    return this.saga.state;
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
        const phase = move.pick % 2 === 0 ? step.phase : step.phase === 'execute' ? 'compensate' : 'execute';
        const attempt = phase === step.phase ? step.attempt + 1 + (move.pick % 3) : step.attempt;
        return this.answer({ stepId: id, phase, attempt }, move.outcome);
      }
      case 'drop':
        this.outstanding = this.outstanding.filter((_, index) => index !== move.pick % this.outstanding.length);
        return;
      case 'wait':
        this.saga.now += move.ms;
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
    this.saga.now = Math.max(this.saga.now, due ?? 0);
    this.apply({ type: 'timer' });
  }

  private isAwaited(command: Pick<SendEffect, 'stepId' | 'phase' | 'attempt'>): boolean {
    const step = this.state.steps[command.stepId];
    return step.waitingFor === 'reply' && step.phase === command.phase && step.attempt === command.attempt;
  }

  private answer(command: Pick<SendEffect, 'stepId' | 'phase' | 'attempt'>, outcome: Outcome): void {
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

  private apply(event: TransactionEvent): Decision<SagaState> {
    const before = this.state;
    this.gate.verdicts = [];
    const decision = this.saga.apply(event);
    this.transcript.push(decision);
    if (!decision.accepted) {
      // Only an abort may be refused here: every other event the driver sends is legitimate.
      assert.equal(event.type, 'abort');
      assert.ok(['not_running', 'past_point_of_no_return', 'pivot_in_flight'].includes(decision.rejection.code));
      return decision;
    }
    if (isFinished(before.status)) assert.deepEqual(decision.state, before, 'a finished transaction changed');
    this.gate.check(decision.effects, decision.state);
    for (const send of sendsOf(decision.effects)) this.checkSend(send, before, decision.state);
    this.statuses.follow(decision.effects, decision.state);
    this.checkState(decision.state);
    return decision;
  }

  private checkSend(send: SendEffect, before: SagaState, after: SagaState): void {
    const { stepId, phase, attempt } = send;
    const spec = this.spec(stepId);
    // (A rollback may drop a held execute and compensate at once: that is another phase.)
    const previous = before.steps[stepId];
    if (previous.waitingFor === 'hold' && previous.phase === phase) {
      assert.ok(this.saga.now >= previous.dueAt!, `${stepId} sent before its hold ended`);
    }
    const key = `${stepId}/${phase}`;
    assert.equal(attempt, (this.lastAttempt.get(key) ?? 0) + 1, `attempts of ${key} are not consecutive`);
    this.lastAttempt.set(key, attempt);
    if (phase === 'execute') {
      const blocking = spec.dependsOn.filter((id) => after.steps[id].status !== 'succeeded');
      assert.deepEqual(blocking, [], `${stepId} executed before its dependencies succeeded`);
      this.executed.add(stepId);
    } else {
      assert.notEqual(spec.compensation, null, `pivot ${stepId} compensated`);
      assert.ok(this.executed.has(stepId), `${stepId} compensated but never executed`);
      assert.ok(!this.isCommitted(after), `${stepId} compensated after the commit`);
      const pending = this.definition.steps.filter(
        (dependent) =>
          dependent.dependsOn.includes(stepId) &&
          this.executed.has(dependent.id) &&
          dependent.compensation !== null &&
          after.steps[dependent.id].status !== 'compensated',
      );
      assert.deepEqual(pending, [], `${stepId} compensated before its dependents`);
    }
    this.outstanding.push(send);
    this.everSent.push(send);
  }

  private checkState(state: SagaState): void {
    const steps = this.definition.steps.map((spec) => ({ spec, step: state.steps[spec.id] }));
    const inFlight = steps.filter(({ step }) => step.waitingFor !== null);
    if (!this.isCommitted(state) && inFlight.some(({ spec }) => spec.compensation === null)) {
      assert.equal(inFlight.length, 1, 'a pivot runs alone');
    }
    if (!STOPPED.includes(state.status)) return;
    assert.equal(inFlight.length, 0, 'work in flight in a stopped transaction');
    const allSucceeded = steps.every(({ step }) => step.status === 'succeeded');
    assert.equal(state.status === 'completed', allSucceeded, 'completed iff every step succeeded');
    if (state.status === 'compensated') {
      assert.notEqual(state.rollback, null);
      for (const { spec, step } of steps) {
        const pivot = spec.compensation === null;
        const allowed = !this.executed.has(spec.id) ? ['skipped'] : pivot ? ['failed', 'compensated'] : ['compensated'];
        assert.ok(allowed.includes(step.status), `${spec.id} is ${step.status} in a compensated transaction`);
      }
    }
    if (state.status === 'failed') {
      const stuck = state.rollback ? 'compensation_failed' : 'failed';
      assert.ok(steps.some(({ step }) => step.status === stuck), `failed without a ${stuck} step`);
    }
  }

  private isCommitted(state: SagaState): boolean {
    return this.definition.steps.some((spec) => spec.compensation === null && state.steps[spec.id].status === 'succeeded');
  }

  private spec(id: string): ResolvedStep {
    const spec = this.definition.steps.find((step) => step.id === id);
    assert.ok(spec, `unknown step ${id}`);
    return spec;
  }
}

/**
 * Each attempt of each of the two phases takes at most a send, a timeout and a reply, plus
 * one event for the deadline.
 */
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

describe('saga machine properties', () => {
  it('reaches a final status consistent with the outcomes, keeping every invariant on the way', () => {
    fc.assert(
      fc.property(arbScenario(), (scenario) => {
        const { state } = simulate(scenario);
        expect(STOPPED).toContain(state.status);
      }),
      { numRuns: 5000 },
    );
  });

  it('is deterministic: the same scenario gives the same decisions', () => {
    fc.assert(
      fc.property(arbScenario(), (scenario) => {
        assert.deepEqual(simulate(scenario).transcript, simulate(scenario).transcript);
      }),
      { numRuns: 1000 },
    );
  });

  it('ends a replayed failed transaction compensated (or completed, if it was moving forward)', () => {
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
