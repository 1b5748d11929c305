import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Command, Reply } from '../messages';
import { PHASES, TX_TYPES } from '../phases';
import { commandSchema, replySchema } from './index';

/**
 * libs/protocol/schemas/*.json are what participant authors in other languages use; they
 * are generated from the TS schemas here and must not drift. After changing index.ts,
 * rewrite them with `ORDO_WRITE_SCHEMAS=1 npx jest libs/protocol/src/schemas`.
 */
const SCHEMA_DIR = join(__dirname, '../../schemas');
const FILES = [
  ['command.schema.json', commandSchema],
  ['reply.schema.json', replySchema],
] as const;

describe('published JSON Schema files', () => {
  it.each(FILES)('%s is the TS schema, as generated', (file, schema) => {
    const expected = `${JSON.stringify(schema, null, 2)}\n`;
    if (process.env.ORDO_WRITE_SCHEMAS) writeFileSync(join(SCHEMA_DIR, file), expected);
    expect(readFileSync(join(SCHEMA_DIR, file), 'utf8')).toBe(expected);
  });
});

// ---- a strict checker for the keywords the schemas use ----
// Ajv is not a dependency of this project. Any keyword this checker does not know fails the
// test, so it cannot silently skip a rule added to the schemas later.

type SchemaNode = { readonly [keyword: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description']);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const TYPES: Readonly<Record<string, (v: unknown) => boolean>> = {
  object: isObject,
  string: (v) => typeof v === 'string',
  integer: (v) => Number.isInteger(v),
};
// RFC 3339 date-time, which the `date-time` format names; asserted, as the coordinator relies on it.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function violations(schema: SchemaNode, value: unknown, at = '$'): string[] {
  return Object.entries(schema).flatMap(([keyword, rule]): string[] => {
    if (ANNOTATIONS.has(keyword)) return [];
    switch (keyword) {
      case 'type':
        if (typeof rule !== 'string' || !TYPES[rule]) throw new Error(`unsupported type ${String(rule)}`);
        return TYPES[rule](value) ? [] : [`${at} is not ${rule}`];
      case 'enum':
        return (rule as readonly unknown[]).includes(value) ? [] : [`${at} is not one of ${JSON.stringify(rule)}`];
      case 'minLength':
        return typeof value === 'string' && [...value].length < (rule as number) ? [`${at} is shorter than ${rule}`] : [];
      case 'maxLength':
        return typeof value === 'string' && [...value].length > (rule as number) ? [`${at} is longer than ${rule}`] : [];
      case 'minimum':
        return typeof value === 'number' && value < (rule as number) ? [`${at} is below ${rule}`] : [];
      case 'format':
        if (rule !== 'date-time') throw new Error(`unsupported format ${String(rule)}`);
        return typeof value === 'string' && !DATE_TIME.test(value) ? [`${at} is not a date-time`] : [];
      case 'required':
        return isObject(value) ? (rule as readonly string[]).filter((name) => !(name in value)).map((name) => `${at}.${name} is missing`) : [];
      case 'properties':
        if (!isObject(value)) return [];
        return Object.entries(rule as Record<string, SchemaNode>).flatMap(([name, sub]) =>
          name in value ? violations(sub, value[name], `${at}.${name}`) : [],
        );
      case 'additionalProperties':
        // Extra fields are allowed so the contract can grow without breaking older readers.
        if (rule !== true) throw new Error('only additionalProperties: true is supported');
        return [];
      default:
        throw new Error(`the schema check does not know the keyword ${keyword}`);
    }
  });
}

// ---- samples ----

const deadline = '2026-01-01T00:00:00Z';
const commands: Command[] = TX_TYPES.flatMap((type) =>
  PHASES[type].map((phase) => ({ txId: 'tx-1', stepId: 'reserve-stock', type, phase, action: 'reserve', attempt: 1, input: {}, deadline })),
);
const [command] = commands;

const replies: Reply[] = [
  { txId: 'tx-1', stepId: 'reserve-stock', phase: 'execute', attempt: 1, outcome: 'success', output: { reservationId: 'r-1' } },
  { txId: 'tx-1', stepId: 'reserve-stock', phase: 'try', attempt: 2, outcome: 'failure', error: { code: 'OUT_OF_STOCK', message: 'no stock' } },
  { txId: 'tx-1', stepId: 'reserve-stock', phase: 'commit', attempt: 3, outcome: 'retry' },
];
const [reply] = replies;

/** Sample documents: the examples in docs/protocol.md fenced as ```json command / ```json reply. */
function documentedExamples(kind: 'command' | 'reply'): unknown[] {
  const doc = readFileSync(join(__dirname, '../../../../docs/protocol.md'), 'utf8');
  return [...doc.matchAll(new RegExp(`\`\`\`json ${kind}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => JSON.parse(m[1]));
}

describe('command schema', () => {
  it.each(commands.map((c) => [`${c.type}/${c.phase}`, c]))('accepts a %s command', (_name, sample) => {
    expect(violations(commandSchema, sample)).toEqual([]);
  });

  it('accepts fields it does not know, a time zone offset and fractional seconds', () => {
    expect(violations(commandSchema, { ...command, traceId: 'x', deadline: '2026-01-01T01:00:00.123+01:00' })).toEqual([]);
  });

  it('accepts every command example of docs/protocol.md', () => {
    const examples = documentedExamples('command');
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const example of examples) expect(violations(commandSchema, example)).toEqual([]);
  });

  const { txId: _, ...withoutTxId } = command;
  it.each([
    ['a missing txId', withoutTxId, '$.txId is missing'],
    ['an empty stepId', { ...command, stepId: '' }, '$.stepId is shorter than 1'],
    ['an unknown type', { ...command, type: 'xa' }, '$.type is not one of'],
    ['an unknown phase', { ...command, phase: 'explode' }, '$.phase is not one of'],
    ['attempt 0', { ...command, attempt: 0 }, '$.attempt is below 1'],
    ['a fractional attempt', { ...command, attempt: 1.5 }, '$.attempt is not integer'],
    ['an attempt as text', { ...command, attempt: '1' }, '$.attempt is not integer'],
    ['an array input', { ...command, input: [] }, '$.input is not object'],
    ['a deadline that is not a date-time', { ...command, deadline: 'tomorrow' }, '$.deadline is not a date-time'],
    ['an array', [command], '$ is not object'],
  ])('refuses %s', (_name, sample, problem) => {
    expect(violations(commandSchema, sample).join('; ')).toContain(problem);
  });
});

describe('reply schema', () => {
  it.each(replies.map((r) => [`${r.phase} ${r.outcome}`, r]))('accepts a %s reply', (_name, sample) => {
    expect(violations(replySchema, sample)).toEqual([]);
  });

  it('counts characters as the parser does: a stepId of 200 emoji fits', () => {
    expect(violations(replySchema, { ...reply, stepId: '\ud83d\ude00'.repeat(200) })).toEqual([]);
  });

  it('accepts every reply example of docs/protocol.md', () => {
    const examples = documentedExamples('reply');
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) expect(violations(replySchema, example)).toEqual([]);
  });

  const { outcome: _, ...withoutOutcome } = reply;
  it.each([
    ['a missing outcome', withoutOutcome, '$.outcome is missing'],
    ['an unknown outcome', { ...reply, outcome: 'ok' }, '$.outcome is not one of'],
    ['an unknown phase', { ...reply, phase: 'rollback' }, '$.phase is not one of'],
    ['attempt 0', { ...reply, attempt: 0 }, '$.attempt is below 1'],
    ['an output that is not an object', { ...reply, output: 'done' }, '$.output is not object'],
    ['an error without a message', { ...reply, error: { code: 'X' } }, '$.error.message is missing'],
    ['an error code that is not text', { ...reply, error: { code: 7, message: 'm' } }, '$.error.code is not string'],
    ['a stepId over 200 characters', { ...reply, stepId: 's'.repeat(201) }, '$.stepId is longer than 200'],
    ['an error code over 100 characters', { ...reply, error: { code: 'C'.repeat(101), message: 'm' } }, '$.error.code is longer than 100'],
  ])('refuses %s', (_name, sample, problem) => {
    expect(violations(replySchema, sample).join('; ')).toContain(problem);
  });
});
