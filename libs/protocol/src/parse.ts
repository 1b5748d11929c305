import Ajv2020, { ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { isUtf8 } from 'buffer';
import { Command, Reply } from './messages';
import { jsonProblem } from './json-limits';
import { capErrorMessage, REPLY_LIMITS } from './reply-limits';
import { commandSchema, replySchema } from './schemas';

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

// The published schemas (schemas/*.json are written from these) are the checks, compiled
// once at load, so the contract and the code cannot drift.
// verbose: an error carries its schema, which words the message (only refusals pay for it).
const ajv = new Ajv2020({ allErrors: true, verbose: true });
addFormats(ajv, ['date-time']);
const validCommand = ajv.compile<Command>(commandSchema);
const validReply = ajv.compile<Reply>(replySchema);

interface FieldSchema {
  type?: string;
  enum?: readonly string[];
  format?: string;
  minLength?: number;
  minimum?: number;
  properties?: Record<string, FieldSchema>;
}

/** What a field must be, in words, read from its schema. */
function expected(schema: FieldSchema): string | undefined {
  if (schema.enum) return `one of ${schema.enum.join(', ')}`;
  if (schema.format === 'date-time') return 'an RFC 3339 date-time with its offset, e.g. 2026-01-01T00:00:00Z';
  if (schema.type === 'string') return schema.minLength ? 'a non-empty string' : 'a string';
  if (schema.type === 'integer') return schema.minimum === undefined ? 'an integer' : `an integer >= ${schema.minimum}`;
  if (schema.type === 'object') return 'an object';
  return undefined;
}

/** One schema error as a dead-letter reason names it: the field and what it must be. */
function problemOf(error: ErrorObject): string {
  const at = error.instancePath.slice(1).replaceAll('/', '.');
  if (error.keyword === 'required') {
    const field = (error.params as { missingProperty: string }).missingProperty;
    const schema = (error.parentSchema as FieldSchema).properties?.[field] ?? {};
    return `${at ? `${at}.` : ''}${field} must be ${expected(schema) ?? 'present'}`;
  }
  if (error.keyword === 'maxLength') return `${at} must be at most ${(error.params as { limit: number }).limit} characters`;
  const wanted = expected(error.parentSchema as FieldSchema);
  return wanted ? `${at} must be ${wanted}` : `${at} ${error.message}`;
}

const schemaProblems = (errors: ErrorObject[] | null | undefined): string[] => [...new Set((errors ?? []).map(problemOf))];

/** A command value checked against the wire contract (libs/protocol's command schema). */
export function parseCommand(value: unknown, options: ParseOptions = {}): Command {
  const { body } = parseJsonObject(value, options);
  if (!validCommand(body)) throw new MalformedMessage(schemaProblems(validCommand.errors).join('; '));
  return body;
}

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
  const valid = validReply(body);
  const problems = valid ? [] : schemaProblems(validReply.errors);
  // What JSON Schema cannot say: the output's size in bytes.
  const tooLarge = isObject(body.output) ? outputSize(body, bytes, options.maxOutputBytes ?? REPLY_LIMITS.outputBytes) : undefined;
  if (!valid || tooLarge) throw new MalformedMessage([...problems, tooLarge].filter(Boolean).join('; '));
  if (!body.error) return body;
  const message = capErrorMessage(body.error.message);
  return message === body.error.message ? body : { ...body, error: { ...body.error, message } };
}
