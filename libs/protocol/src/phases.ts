/** Transaction protocols Ordo coordinates. */
export const TX_TYPES = ['saga', 'tcc', '2pc'] as const;
export type TxType = (typeof TX_TYPES)[number];

/** Phases of a command, per protocol. */
export const PHASES = {
  saga: ['execute', 'compensate'],
  tcc: ['try', 'confirm', 'cancel'],
  '2pc': ['prepare', 'commit', 'abort'],
} as const satisfies Record<TxType, readonly string[]>;

export type SagaPhase = (typeof PHASES.saga)[number];
export type TccPhase = (typeof PHASES.tcc)[number];
export type TwoPcPhase = (typeof PHASES)['2pc'][number];
export type Phase = SagaPhase | TccPhase | TwoPcPhase;

export const ALL_PHASES: readonly Phase[] = [...PHASES.saga, ...PHASES.tcc, ...PHASES['2pc']];

/** Phases that do the forward work; a refusal here starts the rollback. */
export const FORWARD_PHASES: readonly Phase[] = ['execute', 'try', 'prepare'];

/** Phases that undo forward work; the barrier's null-compensation rule applies to them. */
export const COMPENSATING_PHASES: readonly Phase[] = ['compensate', 'cancel', 'abort'];

/** The forward phase a compensating phase undoes. */
export const FORWARD_OF: Readonly<Record<'compensate' | 'cancel' | 'abort', Phase>> = {
  compensate: 'execute',
  cancel: 'try',
  abort: 'prepare',
};

export function isForwardPhase(phase: Phase): boolean {
  return FORWARD_PHASES.includes(phase);
}

/**
 * Phases that must eventually succeed: a `failure` reply to them is retried like `retry`.
 */
export function mustSucceed(phase: Phase): boolean {
  return !isForwardPhase(phase);
}
