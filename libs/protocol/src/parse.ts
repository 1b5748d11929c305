import { Command, OUTCOMES, Reply } from './messages';
import { jsonProblem } from './json-limits';
import { ALL_PHASES, TX_TYPES } from './phases';

/** Why a message was refused; the message goes to a dead-letter topic with it. */
export class MalformedMessage extends Error {}

type Body = Record<string, unknown>;

export interface ParseOptions {
  /** Values of more bytes are refused before parsing (the consumer's MAX_MESSAGE_BYTES). */
  maxBytes?: number;
}

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJsonObject(value: unknown, { maxBytes = Infinity }: ParseOptions): Body {
  let body = value;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const bytes = Buffer.byteLength(body);
    if (bytes > maxBytes) throw new MalformedMessage(`value is ${bytes} bytes, more than the ${maxBytes} allowed`);
    try {
      body = JSON.parse(body.toString());
    } catch {
      throw new MalformedMessage('value is not JSON');
    }
  }
  if (!isObject(body)) throw new MalformedMessage('value is not a JSON object');
  const problem = jsonProblem(body);
  if (problem) throw new MalformedMessage(`${problem.path || 'value'} ${problem.message}`);
  return body;
}

/** The checks shared by commands and replies; each returns a problem or nothing. */
const nonEmpty = (body: Body, field: string) =>
  typeof body[field] === 'string' && body[field] !== '' ? undefined : `${field} must be a non-empty string`;
const oneOf = (body: Body, field: string, values: readonly string[]) =>
  values.includes(body[field] as string) ? undefined : `${field} must be one of ${values.join(', ')}`;
const attempt = (body: Body) =>
  Number.isInteger(body.attempt) && (body.attempt as number) >= 1 ? undefined : 'attempt must be an integer >= 1';
const optionalObject = (body: Body, field: string) =>
  body[field] === undefined || isObject(body[field]) ? undefined : `${field} must be an object`;

function check<T>(body: Body, problems: (string | undefined)[]): T {
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length > 0) throw new MalformedMessage(found.join('; '));
  return body as T;
}

/** A command value checked against the wire contract (libs/protocol's command schema). */
export function parseCommand(value: unknown, options: ParseOptions = {}): Command {
  const body = parseJsonObject(value, options);
  return check<Command>(body, [
    nonEmpty(body, 'txId'),
    nonEmpty(body, 'stepId'),
    oneOf(body, 'type', TX_TYPES),
    oneOf(body, 'phase', ALL_PHASES),
    nonEmpty(body, 'action'),
    attempt(body),
    isObject(body.input) ? undefined : 'input must be an object',
    nonEmpty(body, 'deadline'),
  ]);
}

/** A reply value checked against the wire contract (libs/protocol's reply schema). */
export function parseReply(value: unknown, options: ParseOptions = {}): Reply {
  const body = parseJsonObject(value, options);
  const error = body.error as Body | undefined;
  return check<Reply>(body, [
    nonEmpty(body, 'txId'),
    nonEmpty(body, 'stepId'),
    oneOf(body, 'phase', ALL_PHASES),
    attempt(body),
    oneOf(body, 'outcome', OUTCOMES),
    optionalObject(body, 'output'),
    optionalObject(body, 'error') ??
      (error && (typeof error.code !== 'string' || typeof error.message !== 'string')
        ? 'error must have string code and message'
        : undefined),
  ]);
}
