import { MalformedCommand, parseCommand } from './command-parser';

const command = {
  txId: 't1', stepId: 's1', type: 'saga', phase: 'execute', action: 'reserve', attempt: 1, input: {}, deadline: '2026-01-01T00:00:00Z',
};

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
    expect(() => parseCommand(value)).toThrow(MalformedCommand);
    expect(() => parseCommand(value)).toThrow(reason);
  });
});
