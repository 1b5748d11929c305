import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ResolvedDefinition, ResolvedStep } from '../definition/definition';
import { SAGA } from '../test/saga-harness';
import { arbDefinition, arbScenario, assertDeterministic, assertReplayEnds, Command, ScenarioDriver, simulate, STOPPED } from '../test/scenarios';
import { SendEffect } from '../transaction/effects';
import { SagaState } from './saga-machine';

// ---- scenarios: a random DAG and a random sequence of deliveries ----

const DEFINITIONS = arbDefinition({
  type: 'saga',
  maxSteps: 8,
  pivots: true,
  multipliers: [1, 1.5, 2, 3],
  extraDelayMs: fc.integer({ min: 0, max: 200 }),
});

// ---- the saga's checks of every decision (the driver is in ../test/scenarios.ts) ----

class SagaDriver extends ScenarioDriver<SagaState> {
  static create = (definition: ResolvedDefinition, seed: number, refusalRate: number): SagaDriver =>
    new SagaDriver(SAGA, definition, seed, refusalRate);

  readonly executed = new Set<string>();
  protected readonly abortRejections = ['not_running', 'past_point_of_no_return', 'pivot_in_flight'] as const;

  protected bogus(step: SagaState['steps'][string], pick: number): Pick<Command, 'phase' | 'attempt'> {
    const phase = pick % 2 === 0 ? step.phase : step.phase === 'execute' ? 'compensate' : 'execute';
    const attempt = phase === step.phase ? step.attempt + 1 + (pick % 3) : step.attempt;
    return { phase, attempt };
  }

  protected checkSend(send: SendEffect, before: SagaState, after: SagaState): void {
    const { stepId, phase } = send;
    const spec = this.spec(stepId);
    // (A rollback may drop a held execute and compensate at once: that is another phase.)
    this.checkHoldEnded(send, before);
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
  }

  protected checkState(state: SagaState): void {
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
      assert.ok(
        steps.some(({ step }) => step.status === stuck),
        `failed without a ${stuck} step`,
      );
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

describe('saga machine properties', () => {
  it('reaches a final status consistent with the outcomes, keeping every invariant on the way', () => {
    fc.assert(
      fc.property(arbScenario(DEFINITIONS), (scenario) => {
        const { state } = simulate(SagaDriver.create, scenario);
        expect(STOPPED).toContain(state.status);
      }),
      { numRuns: 5000 },
    );
  });

  it('is deterministic: the same scenario gives the same decisions', () => {
    assertDeterministic(SagaDriver.create, DEFINITIONS, 1000);
  });

  it('ends a replayed failed transaction compensated (or completed, if it was moving forward)', () => {
    const replayed = assertReplayEnds(SagaDriver.create, DEFINITIONS, ({ rollback }) => (rollback ? 'compensated' : 'completed'), 3000);
    expect(replayed).toBeGreaterThan(300);
  });
});
