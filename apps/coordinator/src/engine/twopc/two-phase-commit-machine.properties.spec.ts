import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Outcome, PHASES } from '@ordo/protocol';
import { JITTERS, resolveDefinition, ResolvedDefinition, WorkflowDefinition } from '../definition/definition';
import { validateDefinition } from '../definition/definition-validator';
import { arbMoves, Move, RandomGate, seededRandom, StatusFollower, STOPPED } from '../test/scenarios';
import { TwoPcRun } from '../test/two-pc-harness';
import { Decision } from '../transaction/decision';
import { Effect, SendEffect } from '../transaction/effects';
import { TransactionEvent } from '../transaction/inputs';
import { isFinished } from '../transaction/transaction-state';
import { decisionOf, nextDueAt, TwoPcDecision, TwoPcState } from './two-phase-commit-machine';

// ---- scenarios: random steps (some ordered by dependsOn) and a random sequence of deliveries ----

const arbDefinition: fc.Arbitrary<ResolvedDefinition> = fc
  .integer({ min: 1, max: 6 })
  .chain((count) =>
    fc.record({
      steps: fc.tuple(
        ...Array.from({ length: count }, (_, index) =>
          fc.record({
            dependsOn: fc.subarray(Array.from({ length: index }, (_, dep) => `s${dep}`), { maxLength: Math.min(2, index) }),
            maxAttempts: fc.integer({ min: 1, max: 3 }),
            timeoutMs: fc.integer({ min: 10, max: 200 }),
          }),
        ),
      ),
      timeoutMs: fc.option(fc.integer({ min: 50, max: 3000 }), { nil: undefined }),
      initialDelayMs: fc.integer({ min: 0, max: 50 }),
      multiplier: fc.constantFrom(1, 2),
      jitter: fc.constantFrom(...JITTERS),
    }),
  )
  .map(({ steps, timeoutMs, initialDelayMs, multiplier, jitter }) => {
    const body: WorkflowDefinition = {
      name: 'generated',
      type: '2pc',
      ...(timeoutMs !== undefined && { timeoutMs }),
      defaults: { retry: { initialDelayMs, maxDelayMs: initialDelayMs + 100, multiplier, jitter } },
      steps: steps.map(({ maxAttempts, ...step }, index) => ({
        id: `s${index}`,
        participant: `p${index % 2}`,
        action: `do-s${index}`,
        retry: { maxAttempts },
        ...step,
      })),
    };
    const validation = validateDefinition(body);
    if (!validation.ok) throw new Error(`generator made an invalid definition: ${JSON.stringify(validation.problems)}`);
    return resolveDefinition(validation.definition);
  });

interface Scenario {
  readonly definition: ResolvedDefinition;
  readonly moves: readonly Move[];
  readonly ending: 'silence' | 'recovery';
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

class Simulation {
  readonly tx: TwoPcRun;
  readonly gate: RandomGate;
  readonly transcript: Decision<TwoPcState>[] = [];
  outstanding: SendEffect[] = [];
  readonly everSent: SendEffect[] = [];
  /** Steps whose prepare went out, that voted yes, that voted no; steps sent commit or abort. */
  readonly prepareSent = new Set<string>();
  readonly yes = new Set<string>();
  readonly no = new Set<string>();
  readonly committed = new Set<string>();
  readonly aborted = new Set<string>();
  /** The decision as the history records it. */
  recorded: TwoPcDecision | null = null;
  private readonly lastAttempt = new Map<string, number>();
  private readonly statuses: StatusFollower;

  constructor(
    readonly definition: ResolvedDefinition,
    seed: number,
    refusalRate: number,
  ) {
    this.tx = new TwoPcRun(definition, { order: 42 }, 1_000_000, seededRandom(seed));
    this.gate = new RandomGate(this.tx, refusalRate, seededRandom(~seed));
    this.tx.gate = this.gate;
    this.statuses = new StatusFollower(definition.steps.map(({ id }) => id));
    this.apply({ type: 'started' });
  }

  get state(): TwoPcState {
    return this.tx.state;
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
        const phases = PHASES['2pc'];
        const phase = move.pick % 2 === 0 ? step.phase : phases[(phases.indexOf(step.phase) + 1) % phases.length];
        const attempt = phase === step.phase ? step.attempt + 1 + (move.pick % 3) : step.attempt;
        return this.answer({ stepId: id, phase, attempt }, move.outcome);
      }
      case 'drop':
        this.outstanding = this.outstanding.filter((_, index) => index !== move.pick % this.outstanding.length);
        return;
      case 'wait':
        this.tx.now += move.ms;
        this.apply({ type: 'timer' });
        return;
      case 'abort':
        this.apply({ type: 'abort', actor: 'prop' });
        return;
    }
  }

  operatorRetry(): void {
    assert.ok(this.apply({ type: 'retry', actor: 'prop' }).accepted);
  }

  runToTheEnd(ending: Scenario['ending'], limit: number): number {
    let events = 0;
    for (; !STOPPED.includes(this.state.status) && events <= limit; events++) {
      const awaited = ending === 'recovery' ? this.outstanding.find((command) => this.isAwaited(command)) : undefined;
      this.outstanding = this.outstanding.filter((command) => command !== awaited);
      if (awaited) this.answer(awaited, 'success');
      else {
        const due = nextDueAt(this.state, this.definition);
        assert.notEqual(due, null, 'nothing is due in an active transaction');
        this.tx.now = Math.max(this.tx.now, due ?? 0);
        this.apply({ type: 'timer' });
      }
    }
    return events;
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
    assert.ok(decision.accepted);
    assert.equal(decision.state, before, 'an ignored reply changed the state');
    assert.deepEqual(
      decision.effects.map((effect) => effect.kind === 'record' && effect.event.type),
      ['step.reply_ignored'],
    );
  }

  private apply(event: TransactionEvent): Decision<TwoPcState> {
    const before = this.state;
    this.gate.verdicts = [];
    const decision = this.tx.apply(event);
    this.transcript.push(decision);
    if (!decision.accepted) {
      assert.equal(event.type, 'abort', `${event.type} refused`);
      assert.ok(['not_running', 'past_point_of_no_return'].includes(decision.rejection.code));
      assert.equal(decision.rejection.code === 'past_point_of_no_return', before.decision === 'commit');
      return decision;
    }
    if (isFinished(before.status)) assert.deepEqual(decision.state, before, 'a finished transaction changed');
    this.gate.check(decision.effects, decision.state);
    if (before.decision !== null) assert.equal(decision.state.decision, before.decision, 'the decision changed');
    this.follow(decision.effects, decision.state);
    this.checkState(decision.state);
    return decision;
  }

  /** Walks the effects in order, as the shell writes them: history and commands. */
  private follow(effects: readonly Effect[], after: TwoPcState): void {
    for (const effect of effects) {
      if (effect.kind === 'send') {
        this.checkSend(effect, after);
        continue;
      }
      const { event } = effect;
      switch (event.type) {
        case 'transaction.decided':
          assert.equal(this.recorded, null, 'the decision was recorded twice');
          this.recorded = event.decision;
          break;
        case 'step.replied':
          if (event.phase === 'prepare' && event.outcome === 'success') this.yes.add(event.stepId);
          if (event.phase === 'prepare' && event.outcome === 'failure') this.no.add(event.stepId);
          break;
        default:
          break;
      }
    }
    assert.equal(this.recorded, after.decision, 'the state and the history disagree on the decision');
    this.statuses.follow(effects, after);
  }

  private checkSend(send: SendEffect, after: TwoPcState): void {
    const { stepId, phase, attempt } = send;
    const key = `${stepId}/${phase}`;
    assert.equal(attempt, (this.lastAttempt.get(key) ?? 0) + 1, `attempts of ${key} are not consecutive`);
    this.lastAttempt.set(key, attempt);
    const spec = this.definition.steps.find((step) => step.id === stepId)!;
    switch (phase) {
      case 'prepare':
        assert.equal(this.recorded, null, `${stepId} prepared after the decision`);
        assert.ok(spec.dependsOn.every((id) => this.yes.has(id)), `${stepId} prepared before its dependencies voted yes`);
        this.prepareSent.add(stepId);
        break;
      case 'commit':
        // The decision COMMIT precedes, in this batch or an earlier one, and every step voted yes.
        assert.equal(this.recorded, 'commit', `commit to ${stepId} before the decision COMMIT was recorded`);
        assert.deepEqual(
          this.definition.steps.filter(({ id }) => !this.yes.has(id)).map(({ id }) => id),
          [],
          'commit without every yes',
        );
        this.committed.add(stepId);
        break;
      case 'abort':
        assert.equal(this.recorded, 'abort', `abort to ${stepId} without the decision ABORT`);
        assert.ok(this.prepareSent.has(stepId), `abort to ${stepId}, whose prepare never went out`);
        this.aborted.add(stepId);
        break;
      default:
        assert.fail(`2PC sent phase ${phase}`);
    }
    assert.ok(this.committed.size === 0 || this.aborted.size === 0, 'both commit and abort were sent');
    assert.equal(after.decision, phase === 'prepare' ? after.decision : this.recorded);
    this.outstanding.push(send);
    this.everSent.push(send);
  }

  private checkState(state: TwoPcState): void {
    if (state.decision !== null) assert.equal(decisionOf(state), state.decision);
    else assert.equal(decisionOf(state), 'pending');
    if (!STOPPED.includes(state.status)) return;
    const steps = this.definition.steps.map(({ id }) => ({ id, step: state.steps[id] }));
    assert.ok(steps.every(({ step }) => step.waitingFor === null), 'work in flight in a stopped transaction');
    const mayHavePrepared = steps.filter(({ id }) => this.prepareSent.has(id) && !this.no.has(id));
    if (state.status === 'completed') {
      assert.equal(state.decision, 'commit');
      assert.equal(this.yes.size, this.definition.steps.length, 'completed without every yes');
      assert.ok(steps.every(({ step }) => step.status === 'succeeded'));
    }
    if (state.decision === 'commit') {
      assert.equal(this.no.size, 0, 'a NO vote and a COMMIT');
      for (const { id } of mayHavePrepared) assert.ok(this.committed.has(id), `${id} prepared, never sent commit`);
    } else {
      assert.equal(state.decision, 'abort', 'stopped without a decision');
      assert.notEqual(state.status, 'completed');
      for (const { id } of mayHavePrepared) assert.ok(this.aborted.has(id), `${id} may have prepared, never aborted`);
    }
    if (state.status === 'compensated') {
      for (const { id, step } of steps) {
        const expected = !this.prepareSent.has(id) ? 'skipped' : this.no.has(id) ? 'failed' : 'compensated';
        assert.equal(step.status, expected, `${id} in a compensated transaction`);
      }
    }
    if (state.status === 'failed') {
      const stuck = state.decision === 'commit' ? 'failed' : 'compensation_failed';
      assert.ok(steps.some(({ step }) => step.status === stuck), `failed without a ${stuck} step`);
    }
  }
}

/** Each attempt of each of the two phases takes at most a send, a timeout and a reply, plus the deadline. */
const eventBound = (definition: ResolvedDefinition): number =>
  definition.steps.reduce((sum, step) => sum + 6 * step.retry.maxAttempts, 1);

function simulate({ definition, moves, ending, refusalRate, seed }: Scenario): Simulation {
  const simulation = new Simulation(definition, seed, refusalRate);
  moves.forEach((move) => simulation.play(move));
  simulation.gate.budget = 2 * definition.steps.length;
  const bound = eventBound(definition) + simulation.gate.budget;
  expect(simulation.runToTheEnd(ending, bound)).toBeLessThanOrEqual(bound);
  return simulation;
}

describe('two-phase-commit machine properties', () => {
  it('terminates, commits only after every yes and a recorded COMMIT, and ends consistent with the votes', () => {
    const ends = { completed: 0, compensated: 0, failed: 0 } as Record<string, number>;
    fc.assert(
      fc.property(arbScenario(), (scenario) => {
        const { state } = simulate(scenario);
        expect(STOPPED).toContain(state.status);
        ends[state.status]++;
      }),
      { numRuns: 4000 },
    );
    // The generator reaches every end.
    expect(Math.min(...Object.values(ends))).toBeGreaterThan(100);
  });

  it('is deterministic: the same scenario gives the same decisions', () => {
    fc.assert(
      fc.property(arbScenario(), (scenario) => {
        assert.deepEqual(simulate(scenario).transcript, simulate(scenario).transcript);
      }),
      { numRuns: 800 },
    );
  });

  it('ends a replayed failed transaction in the direction of its decision', () => {
    let replayed = 0;
    fc.assert(
      fc.property(arbScenario(4), (scenario) => {
        const simulation = simulate(scenario);
        const { status, decision } = simulation.state;
        if (status !== 'failed') return;
        replayed++;
        simulation.operatorRetry();
        simulation.runToTheEnd('recovery', eventBound(scenario.definition) + simulation.gate.budget);
        expect(simulation.state.status).toBe(decision === 'commit' ? 'completed' : 'compensated');
      }),
      { numRuns: 3000 },
    );
    expect(replayed).toBeGreaterThan(200);
  });
});
