// Test support for the TCC machine (excluded from the build by its folder name).
import { JsonObject } from '@ordo/protocol';
import { ResolvedDefinition } from '../definition/definition';
import { decide, initialTccState, nextDueAt, TccState } from '../tcc/tcc-machine';
import { Machine, MachineRun, TestOptions, TestStep, testDefinition } from './machine-harness';

export const TCC: Machine<TccState> = { initial: initialTccState, decide, nextDueAt };

/** Participant `svc`, action `do-<id>` in every phase; deterministic retry delays. */
export function tccDefinition(steps: readonly TestStep[], options: TestOptions = {}): ResolvedDefinition {
  return testDefinition('tcc', steps, options);
}

/** A TCC transaction driven by hand: applies events at a fake clock and keeps the latest state. */
export class TccRun extends MachineRun<TccState> {
  constructor(definition: ResolvedDefinition, input: JsonObject = {}, now = 1_000_000, random: () => number = () => 0.5) {
    super(TCC, definition, input, now, random);
  }
}
