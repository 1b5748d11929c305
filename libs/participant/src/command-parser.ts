import { ALL_PHASES, Command, TX_TYPES } from '@ordo/protocol';

/** Why a command was refused; the message goes to the dead-letter topic with it. */
export class MalformedCommand extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a command value against the wire contract (libs/protocol's command schema). */
export function parseCommand(value: unknown): Command {
  let body = value;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      body = JSON.parse(body.toString());
    } catch {
      throw new MalformedCommand('value is not JSON');
    }
  }
  if (!isObject(body)) throw new MalformedCommand('value is not a JSON object');
  const problems: string[] = [];
  for (const field of ['txId', 'stepId', 'action', 'deadline'] as const) {
    if (typeof body[field] !== 'string' || body[field] === '') problems.push(`${field} must be a non-empty string`);
  }
  if (!TX_TYPES.includes(body.type as never)) problems.push(`type must be one of ${TX_TYPES.join(', ')}`);
  if (!ALL_PHASES.includes(body.phase as never)) problems.push(`phase must be one of ${ALL_PHASES.join(', ')}`);
  if (!Number.isInteger(body.attempt) || (body.attempt as number) < 1) problems.push('attempt must be an integer >= 1');
  if (!isObject(body.input)) problems.push('input must be an object');
  if (problems.length > 0) throw new MalformedCommand(problems.join('; '));
  return body as unknown as Command;
}
