import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
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

// ---- the published files, as a participant in another language would load them ----

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv, ['date-time']);
const published = (file: string) => ajv.compile(JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')));
const commandFile = published('command.schema.json');
const replyFile = published('reply.schema.json');

/** Each problem as `<JSON pointer> <keyword>`, with a missing property's own pointer. */
function violations(validate: ValidateFunction, value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) =>
    e.keyword === 'required'
      ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty} required`
      : `${e.instancePath || '/'} ${e.keyword}`,
  );
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
    expect(violations(commandFile, sample)).toEqual([]);
  });

  it('accepts fields it does not know, a time zone offset and fractional seconds', () => {
    expect(violations(commandFile, { ...command, traceId: 'x', deadline: '2026-01-01T01:00:00.123+01:00' })).toEqual([]);
  });

  it('accepts every command example of docs/protocol.md', () => {
    const examples = documentedExamples('command');
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const example of examples) expect(violations(commandFile, example)).toEqual([]);
  });

  const { txId: _, ...withoutTxId } = command;
  it.each([
    ['a missing txId', withoutTxId, '/txId required'],
    ['an empty stepId', { ...command, stepId: '' }, '/stepId minLength'],
    ['an unknown type', { ...command, type: 'xa' }, '/type enum'],
    ['an unknown phase', { ...command, phase: 'explode' }, '/phase enum'],
    ['attempt 0', { ...command, attempt: 0 }, '/attempt minimum'],
    ['a fractional attempt', { ...command, attempt: 1.5 }, '/attempt type'],
    ['an attempt as text', { ...command, attempt: '1' }, '/attempt type'],
    ['an array input', { ...command, input: [] }, '/input type'],
    ['a deadline that is not a date-time', { ...command, deadline: 'tomorrow' }, '/deadline format'],
    ['an array', [command], '/ type'],
  ])('refuses %s', (_name, sample, problem) => {
    expect(violations(commandFile, sample).join('; ')).toContain(problem);
  });
});

describe('reply schema', () => {
  it.each(replies.map((r) => [`${r.phase} ${r.outcome}`, r]))('accepts a %s reply', (_name, sample) => {
    expect(violations(replyFile, sample)).toEqual([]);
  });

  it('counts characters as the parser does: a stepId of 200 emoji fits', () => {
    expect(violations(replyFile, { ...reply, stepId: '\ud83d\ude00'.repeat(200) })).toEqual([]);
  });

  it('accepts every reply example of docs/protocol.md', () => {
    const examples = documentedExamples('reply');
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) expect(violations(replyFile, example)).toEqual([]);
  });

  const { outcome: _, ...withoutOutcome } = reply;
  it.each([
    ['a missing outcome', withoutOutcome, '/outcome required'],
    ['an unknown outcome', { ...reply, outcome: 'ok' }, '/outcome enum'],
    ['an unknown phase', { ...reply, phase: 'rollback' }, '/phase enum'],
    ['attempt 0', { ...reply, attempt: 0 }, '/attempt minimum'],
    ['an output that is not an object', { ...reply, output: 'done' }, '/output type'],
    ['an error without a message', { ...reply, error: { code: 'X' } }, '/error/message required'],
    ['an error code that is not text', { ...reply, error: { code: 7, message: 'm' } }, '/error/code type'],
    ['a stepId over 200 characters', { ...reply, stepId: 's'.repeat(201) }, '/stepId maxLength'],
    ['an error code over 100 characters', { ...reply, error: { code: 'C'.repeat(101), message: 'm' } }, '/error/code maxLength'],
  ])('refuses %s', (_name, sample, problem) => {
    expect(violations(replyFile, sample).join('; ')).toContain(problem);
  });
});
