import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ResolvedDefinition } from '../definition/definition';
import { arbDefinition, arbScenario, assertDeterministic, assertReplayEnds, Command, ScenarioDriver, simulate, STOPPED } from '../test/scenarios';
import { TCC } from '../test/tcc-harness';
import { SendEffect } from '../transaction/effects';
import { HistoryEvent } from '../transaction/history';
import { TccState } from './tcc-machine';

// ---- scenarios: a random DAG of tries and a random sequence of deliveries ----

const DEFINITIONS = arbDefinition({
  type: 'tcc',
  maxSteps: 8,
  multipliers: [1, 1.5, 2, 3],
  extraDelayMs: fc.integer({ min: 0, max: 200 }),
});

// ---- TCC's checks of every decision (the driver is in ../test/scenarios.ts) ----

class TccDriver extends ScenarioDriver<TccState> {
  static create = (definition: ResolvedDefinition, seed: number, refusalRate: number): TccDriver => new TccDriver(TCC, definition, seed, refusalRate);

  /** Steps whose try was sent at least once. */
  readonly tried = new Set<string>();
  /** Steps whose try was answered `success` (an accepted reply). */
  readonly trySucceeded = new Set<string>();
  /** The decision recorded in the history: taken once, never changed. */
  decision: 'commit' | 'abort' | null = null;
  /** Which second phase went out: confirm or cancel, never both. */
  secondPhase: 'confirm' | 'cancel' | null = null;
  protected readonly abortRejections = ['not_running', 'past_point_of_no_return'] as const;

  protected bogus(step: TccState['steps'][string], pick: number): Pick<Command, 'phase' | 'attempt'> {
    const phases = (['try', 'confirm', 'cancel'] as const).filter((phase) => phase !== step.phase);
    const phase = pick % 2 === 0 ? step.phase : phases[pick % phases.length];
    const attempt = phase === step.phase ? step.attempt + 1 + (pick % 3) : 1 + (pick % 3);
    return { phase, attempt };
  }

  /** Follows successful tries and the decision, which must be taken once, commit only when every try succeeded in time. */
  protected followHistory(event: HistoryEvent, before: TccState): void {
    if (event.type === 'step.replied' && event.phase === 'try' && event.outcome === 'success') {
      this.trySucceeded.add(event.stepId);
    }
    if (event.type !== 'transaction.decided') return;
    assert.equal(this.decision, null, 'decided twice');
    this.decision = event.decision;
    if (event.decision === 'abort') return;
    const untried = this.definition.steps.filter(({ id }) => !this.trySucceeded.has(id));
    assert.deepEqual(untried, [], 'decided to confirm before every try succeeded');
    // A paused transaction's clock stands at its pause (its deadline moves on when it resumes).
    const clock = before.paused?.since ?? this.run.now;
    if (before.deadline !== null) assert.ok(clock < before.deadline, 'decided to confirm after the deadline');
  }

  protected checkSend(send: SendEffect, before: TccState): void {
    const { stepId, phase, action } = send;
    const spec = this.definition.steps.find((step) => step.id === stepId)!;
    this.checkHoldEnded(send, before);
    // Every phase carries the step's action (and its input: checked for every protocol by the driver).
    assert.equal(action, spec.action);
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
  }

  protected checkState(state: TccState): void {
    const steps = this.definition.steps.map(({ id }) => ({ id, step: state.steps[id] }));
    if (!STOPPED.includes(state.status)) return;
    assert.equal(steps.filter(({ step }) => step.waitingFor !== null).length, 0, 'work in flight in a stopped transaction');
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

describe('tcc machine properties', () => {
  it('terminates in a status matching the outcomes, keeping every invariant on the way', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbScenario(DEFINITIONS), (scenario) => {
        const { state } = simulate(TccDriver.create, scenario);
        expect(STOPPED).toContain(state.status);
        seen.add(state.status);
      }),
      { numRuns: 5000 },
    );
    expect([...seen].sort()).toEqual(['compensated', 'completed', 'failed']);
  });

  it('is deterministic: the same scenario gives the same decisions', () => {
    assertDeterministic(TccDriver.create, DEFINITIONS, 1000);
  });

  it('ends a replayed failed transaction compensated, or completed if it was confirming', () => {
    const replayed = assertReplayEnds(TccDriver.create, DEFINITIONS, ({ rollback }) => (rollback ? 'compensated' : 'completed'), 3000);
    expect(replayed).toBeGreaterThan(300);
  });
});
