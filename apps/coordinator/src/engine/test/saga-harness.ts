// Test support for the saga machine (excluded from the build by its folder name).
import { JsonObject } from '@ordo/protocol';
import { ResolvedDefinition } from '../definition/definition';
import { decide, initialSagaState, nextDueAt, SagaState } from '../saga/saga-machine';
import { Machine, MachineRun, TestOptions, TestStep, testDefinition } from './machine-harness';

export { ADMIT_ALL, historyOf, sendsOf, sent } from './machine-harness';
export type { TestOptions, TestStep } from './machine-harness';

export const SAGA: Machine<SagaState> = { initial: initialSagaState, decide, nextDueAt };

/** Participant `svc`, action `do-<id>`, compensation `undo-<id>` (none for a pivot); deterministic retry delays. */
export function sagaDefinition(steps: readonly TestStep[], options: TestOptions = {}): ResolvedDefinition {
  return testDefinition('saga', steps, options);
}

/** A saga driven by hand: applies events at a fake clock and keeps the latest state. */
export class SagaRun extends MachineRun<SagaState> {
  constructor(definition: ResolvedDefinition, input: JsonObject = {}, now = 1_000_000, random: () => number = () => 0.5) {
    super(SAGA, definition, input, now, random);
  }
}
