import { Command, JsonObject, Phase, TxType } from '@ordo/protocol';
import { HistoryEvent } from './history';

/** A command to publish: the shell writes it to the outbox. */
export interface SendEffect {
  readonly kind: 'send';
  readonly stepId: string;
  readonly participant: string;
  readonly phase: Phase;
  readonly action: string;
  readonly attempt: number;
  readonly input: JsonObject;
  /** When the coordinator stops waiting for this attempt, ms since the epoch. */
  readonly deadline: number;
}

/** A history entry: the shell appends it to the transaction's events. */
export interface RecordEffect {
  readonly kind: 'record';
  readonly event: HistoryEvent;
}

export type Effect = SendEffect | RecordEffect;

/** The wire command for a send effect (topic: the participant's command topic, key: txId). */
export function toCommand(txId: string, type: TxType, effect: SendEffect): Command {
  return {
    txId,
    stepId: effect.stepId,
    type,
    phase: effect.phase,
    action: effect.action,
    attempt: effect.attempt,
    input: effect.input,
    deadline: new Date(effect.deadline).toISOString(),
  };
}
