import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PHASES } from '@ordo/protocol';
import { ResolvedDefinition } from '../definition/definition';
import { arbDefinition, arbScenario, assertDeterministic, assertReplayEnds, Command, ScenarioDriver, simulate, STOPPED } from '../test/scenarios';
import { TWO_PC } from '../test/two-pc-harness';
import { Rejection } from '../transaction/decision';
import { SendEffect } from '../transaction/effects';
import { HistoryEvent } from '../transaction/history';
import { decisionOf, TwoPcDecision, TwoPcState } from './two-phase-commit-machine';

// ---- scenarios: random steps (some ordered by dependsOn) and a random sequence of deliveries ----

const DEFINITIONS = arbDefinition({
  type: '2pc',
  maxSteps: 6,
  maxDependencies: 2,
  participants: 2,
  multipliers: [1, 2],
  extraDelayMs: fc.constant(100),
});

// ---- 2PC's checks of every decision (the driver is in ../test/scenarios.ts) ----

class TwoPcDriver extends ScenarioDriver<TwoPcState> {
  static create = (definition: ResolvedDefinition, seed: number, refusalRate: number): TwoPcDriver =>
    new TwoPcDriver(TWO_PC, definition, seed, refusalRate);

  /** Steps whose prepare went out, that voted yes, that voted no; steps sent commit or abort. */
  readonly prepareSent = new Set<string>();
  readonly yes = new Set<string>();
  readonly no = new Set<string>();
  readonly committed = new Set<string>();
  readonly aborted = new Set<string>();
  /** The decision as the history records it. */
  recorded: TwoPcDecision | null = null;
  protected readonly abortRejections = ['not_running', 'past_point_of_no_return'] as const;

  protected bogus(step: TwoPcState['steps'][string], pick: number): Pick<Command, 'phase' | 'attempt'> {
    const phases = PHASES['2pc'];
    const phase = pick % 2 === 0 ? step.phase : phases[(phases.indexOf(step.phase) + 1) % phases.length];
    const attempt = phase === step.phase ? step.attempt + 1 + (pick % 3) : step.attempt;
    return { phase, attempt };
  }

  protected checkRejected(rejection: Rejection, before: TwoPcState): void {
    assert.equal(rejection.code === 'past_point_of_no_return', before.decision === 'commit');
  }

  /** Follows the history in order, as the shell writes it with the commands: the decision and the votes. */
  protected followHistory(event: HistoryEvent): void {
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

  protected checkSend(send: SendEffect, _before: TwoPcState, after: TwoPcState): void {
    const { stepId, phase } = send;
    const spec = this.definition.steps.find((step) => step.id === stepId)!;
    switch (phase) {
      case 'prepare':
        assert.equal(this.recorded, null, `${stepId} prepared after the decision`);
        assert.ok(
          spec.dependsOn.every((id) => this.yes.has(id)),
          `${stepId} prepared before its dependencies voted yes`,
        );
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
  }

  protected checkState(state: TwoPcState, before: TwoPcState): void {
    if (before.decision !== null) assert.equal(state.decision, before.decision, 'the decision changed');
    assert.equal(this.recorded, state.decision, 'the state and the history disagree on the decision');
    if (state.decision !== null) assert.equal(decisionOf(state), state.decision);
    else assert.equal(decisionOf(state), 'pending');
    if (!STOPPED.includes(state.status)) return;
    const steps = this.definition.steps.map(({ id }) => ({ id, step: state.steps[id] }));
    assert.ok(
      steps.every(({ step }) => step.waitingFor === null),
      'work in flight in a stopped transaction',
    );
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
      assert.ok(
        steps.some(({ step }) => step.status === stuck),
        `failed without a ${stuck} step`,
      );
    }
  }
}

describe('two-phase-commit machine properties', () => {
  it('terminates, commits only after every yes and a recorded COMMIT, and ends consistent with the votes', () => {
    const ends = { completed: 0, compensated: 0, failed: 0 } as Record<string, number>;
    fc.assert(
      fc.property(arbScenario(DEFINITIONS), (scenario) => {
        const { state } = simulate(TwoPcDriver.create, scenario);
        expect(STOPPED).toContain(state.status);
        ends[state.status]++;
      }),
      { numRuns: 4000 },
    );
    // The generator reaches every end.
    expect(Math.min(...Object.values(ends))).toBeGreaterThan(100);
  });

  it('is deterministic: the same scenario gives the same decisions', () => {
    assertDeterministic(TwoPcDriver.create, DEFINITIONS, 800);
  });

  it('ends a replayed failed transaction in the direction of its decision', () => {
    const replayed = assertReplayEnds(TwoPcDriver.create, DEFINITIONS, ({ decision }) => (decision === 'commit' ? 'completed' : 'compensated'), 3000);
    expect(replayed).toBeGreaterThan(200);
  });
});
