// Test support for the two-phase-commit machine (excluded from the build by its folder name).
import { JsonObject } from '@ordo/protocol';
import { ResolvedDefinition } from '../definition/definition';
import { decide, initialTwoPcState, nextDueAt, TwoPcState } from '../twopc/two-phase-commit-machine';
import { Machine, MachineRun, TestOptions, TestStep, testDefinition } from './machine-harness';

export const TWO_PC: Machine<TwoPcState> = { initial: initialTwoPcState, decide, nextDueAt };

/** Participant `svc`, action `do-<id>`; deterministic retry delays. */
export function twoPcDefinition(steps: readonly TestStep[], options: TestOptions = {}): ResolvedDefinition {
  return testDefinition('2pc', steps, options);
}

/** A 2PC transaction driven by hand: applies events at a fake clock and keeps the latest state. */
export class TwoPcRun extends MachineRun<TwoPcState> {
  constructor(definition: ResolvedDefinition, input: JsonObject = {}, now = 1_000_000, random: () => number = () => 0.5) {
    super(TWO_PC, definition, input, now, random);
  }
}
