import { ALL_PHASES, TX_TYPES } from '../phases';
import { OUTCOMES } from '../messages';
import { REPLY_LIMITS } from '../reply-limits';

/** JSON Schema (draft 2020-12) of a command message value. */
export const commandSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://ordo.dev/schemas/command.json',
  title: 'Ordo command',
  type: 'object',
  required: ['txId', 'stepId', 'type', 'phase', 'action', 'attempt', 'input', 'deadline'],
  properties: {
    txId: { type: 'string', minLength: 1 },
    stepId: { type: 'string', minLength: 1 },
    type: { enum: [...TX_TYPES] },
    phase: { enum: [...ALL_PHASES] },
    action: { type: 'string', minLength: 1 },
    attempt: { type: 'integer', minimum: 1 },
    input: { type: 'object' },
    deadline: { type: 'string', format: 'date-time' },
    token: { type: 'string', minLength: 1, maxLength: REPLY_LIMITS.tokenLength, description: 'Echo it in the reply (protocol version 2).' },
  },
  additionalProperties: true,
} as const;

/**
 * JSON Schema (draft 2020-12) of a reply message value, with REPLY_LIMITS. What JSON Schema
 * cannot express is in the descriptions: the output's size in bytes, and a long error
 * message, which is cut rather than refused.
 */
export const replySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://ordo.dev/schemas/reply.json',
  title: 'Ordo reply',
  type: 'object',
  description: 'Text must not contain U+0000 or an unpaired UTF-16 surrogate (PostgreSQL cannot store them): such a reply is dead-lettered.',
  required: ['txId', 'stepId', 'phase', 'attempt', 'outcome'],
  properties: {
    txId: { type: 'string', minLength: 1, maxLength: REPLY_LIMITS.idLength },
    stepId: { type: 'string', minLength: 1, maxLength: REPLY_LIMITS.idLength },
    phase: { enum: [...ALL_PHASES] },
    attempt: { type: 'integer', minimum: 1 },
    outcome: { enum: [...OUTCOMES] },
    output: {
      type: 'object',
      description: `At most the coordinator's MAX_REPLY_OUTPUT_BYTES as JSON (default ${REPLY_LIMITS.outputBytes} bytes); larger: dead-lettered.`,
    },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', maxLength: REPLY_LIMITS.errorCodeLength },
        message: {
          type: 'string',
          description: `Longer than ${REPLY_LIMITS.errorMessageLength} characters: cut to that length, ending with "… [cut from <n> characters]".`,
        },
      },
    },
    token: {
      type: 'string',
      minLength: 1,
      maxLength: REPLY_LIMITS.tokenLength,
      description:
        "The command's token, echoed (protocol version 2). A reply with another token is dead-lettered; without one, it is unless the coordinator accepts version 1 replies (REPLY_TOKENS=optional).",
    },
  },
  additionalProperties: true,
} as const;
