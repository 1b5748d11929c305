import { ALL_PHASES, TX_TYPES } from '../phases';
import { OUTCOMES } from '../messages';

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
  },
  additionalProperties: true,
} as const;

/** JSON Schema (draft 2020-12) of a reply message value. */
export const replySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://ordo.dev/schemas/reply.json',
  title: 'Ordo reply',
  type: 'object',
  required: ['txId', 'stepId', 'phase', 'attempt', 'outcome'],
  properties: {
    txId: { type: 'string', minLength: 1 },
    stepId: { type: 'string', minLength: 1 },
    phase: { enum: [...ALL_PHASES] },
    attempt: { type: 'integer', minimum: 1 },
    outcome: { enum: [...OUTCOMES] },
    output: { type: 'object' },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
  additionalProperties: true,
} as const;
