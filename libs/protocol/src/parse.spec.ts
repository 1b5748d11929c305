import { MalformedMessage, parseCommand, parseReply } from './parse';

const command = {
  txId: 't1', stepId: 's1', type: 'saga', phase: 'execute', action: 'reserve', attempt: 1, input: {}, deadline: '2026-01-01T00:00:00Z',
};
const reply = { txId: 't1', stepId: 's1', phase: 'execute', attempt: 2, outcome: 'failure', error: { code: 'OUT_OF_STOCK', message: 'short' } };

describe('parseCommand', () => {
  it('accepts a command as JSON text, buffer or object', () => {
    expect(parseCommand(JSON.stringify(command))).toEqual(command);
    expect(parseCommand(Buffer.from(JSON.stringify(command)))).toEqual(command);
    expect(parseCommand(command)).toEqual(command);
  });

  it.each([
    ['not JSON', '{', 'value is not JSON'],
    ['an array', '[]', 'value is not a JSON object'],
    ['a bad phase', { ...command, phase: 'explode' }, 'phase must be one of'],
    ['attempt 0', { ...command, attempt: 0 }, 'attempt must be an integer >= 1'],
    ['no input', { ...command, input: undefined }, 'input must be an object'],
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
    ['a malformed error', { ...reply, error: { code: 1 } }, 'error must have string code and message'],
    ['an output that is not an object', { ...reply, output: [1] }, 'output must be an object'],
    ['several problems at once', { outcome: 'x' }, 'txId must be a non-empty string; stepId must be a non-empty string'],
    ['binary garbage', Buffer.from([0xff, 0x00, 0x7b, 0xfe]), 'value is not JSON'],
    ['U+0000 in an output', { ...reply, outcome: 'success', error: undefined, output: { note: 'a\u0000b' } }, 'output.note must not contain U+0000'],
    ['an output nested too deep', { ...reply, output: JSON.parse('{"a":'.repeat(70) + '1' + '}'.repeat(70)) }, 'nested deeper than 64 levels'],
  ])('refuses %s', (_name, value, reason) => {
    expect(() => parseReply(value)).toThrow(reason);
  });

  it('refuses a value larger than maxBytes before parsing it', () => {
    const text = JSON.stringify({ ...reply, output: { blob: 'x'.repeat(100) } });
    expect(() => parseReply(text, { maxBytes: 100 })).toThrow(`value is ${text.length} bytes, more than the 100 allowed`);
    expect(parseReply(text, { maxBytes: text.length })).toMatchObject({ txId: 't1' });
  });
});
