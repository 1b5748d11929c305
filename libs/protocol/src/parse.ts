import { isUtf8 } from 'buffer';
import { Command, OUTCOMES, Reply } from './messages';
import { jsonProblem } from './json-limits';
import { ALL_PHASES, TX_TYPES } from './phases';
import { capErrorMessage, longerThan, REPLY_LIMITS } from './reply-limits';

/** Why a message was refused; the message goes to a dead-letter topic with it. */
export class MalformedMessage extends Error {}

type Body = Record<string, unknown>;

export interface ParseOptions {
  /** Values of more bytes are refused before parsing (the consumer's MAX_MESSAGE_BYTES). */
  maxBytes?: number;
}

export interface ReplyParseOptions extends ParseOptions {
  /** Replies whose output has more bytes of JSON are refused (default REPLY_LIMITS.outputBytes). */
  maxOutputBytes?: number;
}

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value as an object, checked for depth and storable text; `bytes`: its size as received, when it came as bytes. */
function parseJsonObject(value: unknown, { maxBytes = Infinity }: ParseOptions): { body: Body; bytes?: number } {
  let body = value;
  let bytes: number | undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    bytes = Buffer.byteLength(body);
    if (bytes > maxBytes) throw new MalformedMessage(`value is ${bytes} bytes, more than the ${maxBytes} allowed`);
    // JSON between systems is UTF-8 (RFC 8259); decoding would turn each bad byte into U+FFFD
    // and so change ids and business data without a word.
    if (Buffer.isBuffer(body) && !isUtf8(body)) throw new MalformedMessage('value is not valid UTF-8');
    try {
      body = JSON.parse(body.toString());
    } catch {
      throw new MalformedMessage('value is not JSON');
    }
  }
  if (!isObject(body)) throw new MalformedMessage('value is not a JSON object');
  const problem = jsonProblem(body);
  if (problem) throw new MalformedMessage(`${problem.path || 'value'} ${problem.message}`);
  return { body, bytes };
}

/** The checks shared by commands and replies; each returns a problem or nothing. */
const nonEmpty = (body: Body, field: string, maxLength = Infinity) => {
  const value = body[field];
  if (typeof value !== 'string' || value === '') return `${field} must be a non-empty string`;
  return longerThan(value, maxLength) ? `${field} must be at most ${maxLength} characters` : undefined;
};
const oneOf = (body: Body, field: string, values: readonly string[]) =>
  values.includes(body[field] as string) ? undefined : `${field} must be one of ${values.join(', ')}`;
const attempt = (body: Body) =>
  Number.isInteger(body.attempt) && (body.attempt as number) >= 1 ? undefined : 'attempt must be an integer >= 1';
const optionalString = (body: Body, field: string, maxLength: number) =>
  body[field] === undefined ? undefined : nonEmpty(body, field, maxLength);
const optionalObject = (body: Body, field: string) =>
  body[field] === undefined || isObject(body[field]) ? undefined : `${field} must be an object`;

function check<T>(body: Body, problems: (string | undefined)[]): T {
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length > 0) throw new MalformedMessage(found.join('; '));
  return body as T;
}

/** A command value checked against the wire contract (libs/protocol's command schema). */
export function parseCommand(value: unknown, options: ParseOptions = {}): Command {
  const { body } = parseJsonObject(value, options);
  return check<Command>(body, [
    nonEmpty(body, 'txId'),
    nonEmpty(body, 'stepId'),
    oneOf(body, 'type', TX_TYPES),
    oneOf(body, 'phase', ALL_PHASES),
    nonEmpty(body, 'action'),
    attempt(body),
    isObject(body.input) ? undefined : 'input must be an object',
    nonEmpty(body, 'deadline'),
    optionalString(body, 'token', REPLY_LIMITS.tokenLength),
  ]);
}

const replyError = (body: Body) => {
  const { error } = body;
  if (error === undefined) return undefined;
  if (!isObject(error)) return 'error must be an object';
  if (typeof error.code !== 'string' || typeof error.message !== 'string') return 'error must have string code and message';
  const max = REPLY_LIMITS.errorCodeLength;
  return longerThan(error.code, max) ? `error.code must be at most ${max} characters` : undefined;
};

/** Measures the output only when the whole value could exceed the cap. */
const outputSize = (body: Body, bytes: number | undefined, maxOutputBytes: number) => {
  if (body.output === undefined || (bytes !== undefined && bytes <= maxOutputBytes)) return undefined;
  const size = Buffer.byteLength(JSON.stringify(body.output));
  return size > maxOutputBytes ? `output is ${size} bytes of JSON, more than the ${maxOutputBytes} allowed` : undefined;
};

/**
 * A reply value checked against the wire contract (libs/protocol's reply schema), within
 * REPLY_LIMITS: ids, error code or output over their caps are refused; a long error message
 * is cut (capErrorMessage), so the reply still settles its step.
 */
export function parseReply(value: unknown, options: ReplyParseOptions = {}): Reply {
  const { body, bytes } = parseJsonObject(value, options);
  const reply = check<Reply>(body, [
    nonEmpty(body, 'txId', REPLY_LIMITS.idLength),
    nonEmpty(body, 'stepId', REPLY_LIMITS.idLength),
    oneOf(body, 'phase', ALL_PHASES),
    attempt(body),
    oneOf(body, 'outcome', OUTCOMES),
    optionalObject(body, 'output') ?? outputSize(body, bytes, options.maxOutputBytes ?? REPLY_LIMITS.outputBytes),
    replyError(body),
    optionalString(body, 'token', REPLY_LIMITS.tokenLength),
  ]);
  if (!reply.error) return reply;
  const message = capErrorMessage(reply.error.message);
  return message === reply.error.message ? reply : { ...reply, error: { ...reply.error, message } };
}
