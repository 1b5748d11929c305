import { HEADERS } from './messages';
import { topicNames } from './topics';

/** A message as a consumer received it, before anything was made of it. */
export interface ReceivedMessage {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Structurally a platform OutgoingMessage. */
export interface DeadLetter {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * The dead letter of a message refused from `topic`: its key, bytes and headers as
 * received, plus the reason. A value over `maxBytes` is cut to `maxBytes` (the reason says
 * so), so the dead letter fits the broker's message size limit as the original did; the
 * original stays in `topic` until its retention ends.
 */
export function deadLetter(topic: string, message: ReceivedMessage, reason: string, maxBytes: number): DeadLetter {
  const value = message.value ?? Buffer.alloc(0);
  const cut = value.length > maxBytes;
  return {
    topic: topicNames().deadLetter(topic),
    key: message.key ?? 'malformed',
    value: cut ? value.subarray(0, maxBytes) : value,
    headers: { ...message.headers, [HEADERS.deadLetterReason]: cut ? `${reason} (dead letter cut to ${maxBytes} bytes)` : reason },
  };
}
