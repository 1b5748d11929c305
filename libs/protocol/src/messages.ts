import { Phase, TxType } from './phases';

/** Outcome a participant reports for one command. */
export const OUTCOMES = ['success', 'failure', 'retry'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Coordinator → participant, on topic `<prefix><participant>.commands`, key = txId. */
export interface Command {
  txId: string;
  stepId: string;
  type: TxType;
  phase: Phase;
  action: string;
  attempt: number;
  input: JsonObject;
  /** ISO-8601 instant after which the coordinator no longer waits for this attempt. */
  deadline: string;
  /**
   * Opaque and unguessable, one per attempt (protocol version 2): the reply must echo it, so
   * that only whoever received this command can settle its attempt.
   */
  token?: string;
}

export interface ReplyError {
  code: string;
  message: string;
}

/** Participant → coordinator, on the reply topic, key = txId. */
export interface Reply {
  txId: string;
  stepId: string;
  phase: Phase;
  attempt: number;
  outcome: Outcome;
  output?: JsonObject;
  error?: ReplyError;
  /** The command's `token`, echoed (protocol version 2). */
  token?: string;
}

/** Kafka header names carried by every command and reply. */
export const HEADERS = {
  traceparent: 'traceparent',
  messageId: 'ordo-message-id',
  /** On dead-lettered messages: why the message was refused. */
  deadLetterReason: 'ordo-dead-letter-reason',
  /** On the outbox's dead letters: the topic the command was for. */
  originalTopic: 'ordo-original-topic',
} as const;
