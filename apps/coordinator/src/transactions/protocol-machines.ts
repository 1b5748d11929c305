import { TxType } from '@ordo/protocol';
import {
  decideSaga,
  Decision,
  DecideContext,
  initialSagaState,
  ResolvedDefinition,
  sagaNextDueAt,
  TransactionEvent,
  TransactionState,
} from '../engine';

/** One protocol's pure state machine, as the shell drives it. */
export interface ProtocolMachine {
  initial(definition: ResolvedDefinition): TransactionState;
  decide(state: TransactionState, event: TransactionEvent, ctx: DecideContext): Decision<TransactionState>;
  nextDueAt(state: TransactionState, definition: ResolvedDefinition): number | null;
}

const saga: ProtocolMachine = {
  initial: initialSagaState,
  decide: (state, event, ctx) => decideSaga(state as Parameters<typeof decideSaga>[0], event, ctx),
  nextDueAt: (state, definition) => sagaNextDueAt(state as Parameters<typeof sagaNextDueAt>[0], definition),
};

const MACHINES: Partial<Record<TxType, ProtocolMachine>> = { saga };

/** The machine of a definition type; TCC and 2PC join the saga here. */
export function machineFor(type: TxType): ProtocolMachine | undefined {
  return MACHINES[type];
}
