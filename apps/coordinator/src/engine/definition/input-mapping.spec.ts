import { parseReference, resolveInput } from './input-mapping';

describe('parseReference', () => {
  it.each([
    ['$.input', { source: 'input', path: [] }],
    ['$.input.a.b', { source: 'input', path: ['a', 'b'] }],
    ['$.steps.create-order.output', { source: 'step', stepId: 'create-order', path: [] }],
    ['$.steps.s1.output.items.0', { source: 'step', stepId: 's1', path: ['items', '0'] }],
  ])('parses %s', (text, reference) => {
    expect(parseReference(text)).toEqual(reference);
  });

  it.each(['$.', '$.inputs', '$.input.', '$.input..a', '$.steps.a', '$.steps.a.input', '$.steps..output', '$.other'])('refuses %s', (text) => {
    expect(parseReference(text)).toBeNull();
  });
});

describe('resolveInput', () => {
  const txInput = { sku: 'A-1', qty: 2, nested: { list: [10, 20] } };
  const outputs = { order: { orderId: 'o-7' }, silent: null };

  it('passes the transaction input when there is no mapping', () => {
    expect(resolveInput(undefined, txInput, outputs)).toBe(txInput);
    expect(resolveInput(null, txInput, outputs)).toBe(txInput);
  });

  it('resolves references, keeps literals and maps nested objects and arrays', () => {
    const mapping = {
      sku: '$.input.sku',
      orderId: '$.steps.order.output.orderId',
      whole: '$.input',
      second: '$.input.nested.list.1',
      literal: 42,
      text: 'plain $ string',
      nested: { qty: '$.input.qty', flags: [true, '$.input.sku'] },
    };
    expect(resolveInput(mapping, txInput, outputs)).toEqual({
      sku: 'A-1',
      orderId: 'o-7',
      whole: txInput,
      second: 20,
      literal: 42,
      text: 'plain $ string',
      nested: { qty: 2, flags: [true, 'A-1'] },
    });
  });

  it('gives null for whatever resolves to nothing', () => {
    const mapping = {
      missing: '$.input.nope',
      tooDeep: '$.input.sku.length',
      index: '$.input.nested.list.5',
      notIndex: '$.input.nested.list.first',
      noOutput: '$.steps.silent.output.id',
      unknownStep: '$.steps.ghost.output',
      inherited: '$.input.constructor',
    };
    expect(Object.values(resolveInput(mapping, txInput, outputs))).toEqual(Object.values(mapping).map(() => null));
  });

  it('keeps a __proto__ key an ordinary key', () => {
    const mapping = JSON.parse('{"__proto__": "$.input.sku"}');
    const input = resolveInput(mapping, txInput, outputs);
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
    expect(Object.hasOwn(input, '__proto__')).toBe(true);
  });
});
