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

/**
 * One protocol's pure state machine, as the shell drives it. Methods, so that each machine
 * may take its own state type (method parameters are compared both ways): the shell hands
 * every machine the state it stored for it, which is what the repository loads for its
 * transaction type (2PC's adds its decision).
 */
export interface ProtocolMachine {
  initial(definition: ResolvedDefinition): TransactionState;
  decide(state: TransactionState, event: TransactionEvent, ctx: DecideContext): Decision<TransactionState>;
  nextDueAt(state: TransactionState, definition: ResolvedDefinition): number | null;
}

const MACHINES: Record<TxType, ProtocolMachine> = {
  saga: { initial: initialSagaState, decide: decideSaga, nextDueAt: sagaNextDueAt },
  tcc: { initial: initialTccState, decide: decideTcc, nextDueAt: tccNextDueAt },
  '2pc': { initial: initialTwoPcState, decide: decideTwoPc, nextDueAt: twoPcNextDueAt },
};

export function machineFor(type: TxType): ProtocolMachine {
  return MACHINES[type];
}
