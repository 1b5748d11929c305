// The coordinator's functional core: pure code, no I/O. See saga/README.md for the saga rules.
export * from './definition/definition';
export * from './definition/definition-validator';
export * from './definition/canonical-definition';
export * from './definition/input-mapping';
export * from './transaction/transaction-state';
export * from './transaction/inputs';
export * from './transaction/history';
export * from './transaction/effects';
export * from './transaction/decision';
export * from './protection/circuit-breaker';
export { decide as decideSaga, initialSagaState, nextDueAt as sagaNextDueAt } from './saga/saga-machine';
export type { SagaState, SagaStepState } from './saga/saga-machine';
export { decide as decideTcc, initialTccState, nextDueAt as tccNextDueAt } from './tcc/tcc-machine';
export type { TccState } from './tcc/tcc-machine';
export {
  decide as decideTwoPc,
  decisionOf,
  initialTwoPcState,
  nextDueAt as twoPcNextDueAt,
} from './twopc/two-phase-commit-machine';
export type { TwoPcDecision, TwoPcState } from './twopc/two-phase-commit-machine';
