import { TxType } from '@ordo/protocol';
import {
  decideSaga,
  decideTcc,
  decideTwoPc,
  Decision,
  DecideContext,
  initialSagaState,
  initialTccState,
  initialTwoPcState,
  ResolvedDefinition,
  sagaNextDueAt,
  tccNextDueAt,
  TransactionEvent,
  TransactionState,
  twoPcNextDueAt,
} from '../engine';

/** One protocol's pure state machine, as the shell drives it. */
export interface ProtocolMachine {
  initial(definition: ResolvedDefinition): TransactionState;
  decide(state: TransactionState, event: TransactionEvent, ctx: DecideContext): Decision<TransactionState>;
  nextDueAt(state: TransactionState, definition: ResolvedDefinition): number | null;
}

/**
 * The shell hands every machine the state it stored for it; each machine's own state type
 * is what the repository loads for its transaction type (2PC's adds its decision).
 */
type Machine<S extends TransactionState> = {
  initial(definition: ResolvedDefinition): S;
  decide(state: S, event: TransactionEvent, ctx: DecideContext): Decision<S>;
  nextDueAt(state: S, definition: ResolvedDefinition): number | null;
};
const erase = <S extends TransactionState>(machine: Machine<S>): ProtocolMachine => machine as unknown as ProtocolMachine;

const MACHINES: Record<TxType, ProtocolMachine> = {
  saga: erase({ initial: initialSagaState, decide: decideSaga, nextDueAt: sagaNextDueAt }),
  tcc: erase({ initial: initialTccState, decide: decideTcc, nextDueAt: tccNextDueAt }),
  '2pc': erase({ initial: initialTwoPcState, decide: decideTwoPc, nextDueAt: twoPcNextDueAt }),
};

export function machineFor(type: TxType): ProtocolMachine {
  return MACHINES[type];
}
