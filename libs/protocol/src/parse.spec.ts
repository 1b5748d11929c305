import { MalformedMessage, parseCommand, parseReply } from './parse';
import { unstorableText } from './json-limits';
import { REPLY_LIMITS } from './reply-limits';

const command = {
  txId: 't1',
  stepId: 's1',
  type: 'saga',
  phase: 'execute',
  action: 'reserve',
  attempt: 1,
  input: {},
  deadline: '2026-01-01T00:00:00Z',
};
const reply = { txId: 't1', stepId: 's1', phase: 'execute', attempt: 2, outcome: 'failure', error: { code: 'OUT_OF_STOCK', message: 'short' } };

describe('parseCommand', () => {
  it('accepts a command as JSON text, buffer or object', () => {
    expect(parseCommand(JSON.stringify(command))).toEqual(command);
    expect(parseCommand({ ...command, deadline: '2026-01-01T01:00:00.123+01:00', traceId: 'x' })).toMatchObject({ traceId: 'x' });
    expect(parseCommand(Buffer.from(JSON.stringify(command)))).toEqual(command);
    expect(parseCommand(command)).toEqual(command);
  });

  it.each([
    ['not JSON', '{', 'value is not JSON'],
    ['an array', '[]', 'value is not a JSON object'],
    ['a bad phase', { ...command, phase: 'explode' }, 'phase must be one of'],
    ['attempt 0', { ...command, attempt: 0 }, 'attempt must be an integer >= 1'],
    ['no input', { ...command, input: undefined }, 'input must be an object'],
    ['a deadline that is not a date-time', { ...command, deadline: 'tomorrow' }, 'deadline must be an RFC 3339 date-time with its offset'],
    ['a deadline without its offset', { ...command, deadline: '2026-01-01T00:00:00' }, 'deadline must be an RFC 3339 date-time'],
    ['a deadline on a day that does not exist', { ...command, deadline: '2026-02-30T00:00:00Z' }, 'deadline must be an RFC 3339 date-time'],
    ['a deadline that is not text', { ...command, deadline: 1767225600000 }, 'deadline must be an RFC 3339 date-time'],
    ['an empty token', { ...command, token: '' }, 'token must be a non-empty string'],
    // Byte 0xFF never occurs in UTF-8; decoding would turn it into U+FFFD.
    ['invalid UTF-8 in a string', Buffer.from(JSON.stringify(command).replace('reserve', 'res\u00ffrve'), 'latin1'), 'value is not valid UTF-8'],
  ])('refuses %s', (_name, value, reason) => {
    expect(() => parseCommand(value)).toThrow(MalformedMessage);
    expect(() => parseCommand(value)).toThrow(reason);
  });
});

describe('parseReply', () => {
  it('accepts a reply', () => {
    expect(parseReply(JSON.stringify(reply))).toEqual(reply);
    expect(parseReply({ ...reply, outcome: 'success', error: undefined, output: { id: 1 } })).toMatchObject({ output: { id: 1 } });
  });

  it.each([
    ['an unknown outcome', { ...reply, outcome: 'maybe' }, 'outcome must be one of success, failure, retry'],
    ['a malformed error', { ...reply, error: { code: 1 } }, 'error.message must be a string; error.code must be a string'],
    ['an output that is not an object', { ...reply, output: [1] }, 'output must be an object'],
    ['several problems at once', { outcome: 'x' }, 'txId must be a non-empty string; stepId must be a non-empty string'],
    ['binary garbage', Buffer.from([0xff, 0x00, 0x7b, 0xfe]), 'value is not valid UTF-8'],
    ['U+0000 in an output', { ...reply, outcome: 'success', error: undefined, output: { note: 'a\u0000b' } }, 'output.note must not contain U+0000'],
    [
      'an unpaired surrogate in an error message',
      { ...reply, error: { code: 'X', message: 'cut \ud83d' } },
      'error.message must not contain an unpaired UTF-16 surrogate (U+D83D)',
    ],
    ['an unpaired surrogate in a stepId', { ...reply, stepId: '\ude00' }, 'stepId must not contain an unpaired UTF-16 surrogate (U+DE00)'],
    ['an unpaired surrogate in an output key', { ...reply, output: { ['k\ud83d']: 1 } }, 'output keys must not contain an unpaired UTF-16 surrogate'],
    ['a stepId over 200 characters', { ...reply, stepId: 's'.repeat(201) }, 'stepId must be at most 200 characters'],
    ['a txId over 200 characters', { ...reply, txId: 't'.repeat(201) }, 'txId must be at most 200 characters'],
    ['an error code over 100 characters', { ...reply, error: { code: 'C'.repeat(101), message: 'm' } }, 'error.code must be at most 100 characters'],
    ['an error that is not an object', { ...reply, error: 'boom' }, 'error must be an object'],
    ['an output nested too deep', { ...reply, output: JSON.parse('{"a":'.repeat(70) + '1' + '}'.repeat(70)) }, 'nested deeper than 64 levels'],
  ])('refuses %s', (_name, value, reason) => {
    expect(() => parseReply(value)).toThrow(reason);
  });

  it('refuses an unpaired surrogate written as a JSON escape, which JSON.parse accepts and jsonb does not', () => {
    const text = JSON.stringify(reply).replace('"short"', '"short \\ud83d"');
    expect(JSON.parse(text).error.message).toBe('short \ud83d');
    expect(() => parseReply(text)).toThrow('error.message must not contain an unpaired UTF-16 surrogate (U+D83D)');
  });

  it('accepts ids and an error code at their caps, and whole emoji anywhere', () => {
    const emoji = '\ud83d\ude00';
    const atCaps = { ...reply, stepId: emoji.repeat(200), error: { code: 'C'.repeat(100), message: emoji } };
    expect(parseReply(JSON.stringify(atCaps))).toEqual(atCaps);
  });

  it('cuts an error message over 4096 characters and marks it, rather than refusing the reply', () => {
    const long = { ...reply, error: { code: 'BOOM', message: '\ud83d\ude00'.repeat(5000) } };
    const parsed = parseReply(JSON.stringify(long));
    expect([...parsed.error!.message].length).toBe(REPLY_LIMITS.errorMessageLength);
    expect(parsed.error!.message).toMatch(/… \[cut from 5000 characters\]$/);
    expect(unstorableText(parsed.error!.message)).toBeUndefined();
    expect(parsed).toMatchObject({ txId: 't1', outcome: 'failure', error: { code: 'BOOM' } });
  });

  it('refuses an output over maxOutputBytes of JSON (64 KiB by default)', () => {
    const output = { blob: 'x'.repeat(REPLY_LIMITS.outputBytes) };
    const big = { ...reply, outcome: 'success', error: undefined, output };
    const size = JSON.stringify(output).length;
    expect(() => parseReply(JSON.stringify(big))).toThrow(`output is ${size} bytes of JSON, more than the 65536 allowed`);
    expect(() => parseReply(big)).toThrow('more than the 65536 allowed');
    expect(parseReply(JSON.stringify(big), { maxOutputBytes: size })).toMatchObject({ output });
    expect(() => parseReply({ ...big, output: { note: 'é'.repeat(60) } }, { maxOutputBytes: 100 })).toThrow('output is 131 bytes of JSON');
  });

  it('refuses a value larger than maxBytes before parsing it', () => {
    const text = JSON.stringify({ ...reply, output: { blob: 'x'.repeat(100) } });
    expect(() => parseReply(text, { maxBytes: 100 })).toThrow(`value is ${text.length} bytes, more than the 100 allowed`);
    expect(parseReply(text, { maxBytes: text.length })).toMatchObject({ txId: 't1' });
  });
});
