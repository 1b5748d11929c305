import { jsonProblem, MAX_JSON_DEPTH, storableText, unstorableText } from './json-limits';

const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = i % 2 ? { a: value } : [value];
  return value;
};

describe('jsonProblem', () => {
  it('accepts ordinary JSON, up to the depth limit', () => {
    expect(jsonProblem({ a: [1, 'x', null, { b: true }] })).toBeUndefined();
    expect(jsonProblem(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(jsonProblem('plain')).toBeUndefined();
  });

  it('reports nesting past the limit with its path', () => {
    expect(jsonProblem({ x: nested(MAX_JSON_DEPTH) })).toEqual({ path: expect.stringMatching(/^x/), message: 'nested deeper than 64 levels' });
    expect(jsonProblem(nested(3), { maxDepth: 2 })).toEqual({ path: '[0].a', message: 'nested deeper than 2 levels' });
  });

  it('handles nesting far deeper than the stack allows', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000));
    expect(jsonProblem(deep)?.message).toBe('nested deeper than 64 levels');
  });

  it('reports U+0000 in strings and keys', () => {
    expect(jsonProblem({ a: { list: ['ok', 'b\u0000'] } })).toEqual({ path: 'a.list[1]', message: 'must not contain U+0000' });
    expect(jsonProblem({ a: { 'k\u0000': 1 } })).toEqual({ path: 'a', message: 'keys must not contain U+0000' });
    expect(jsonProblem({ a: 'b\u0000' }, { anyText: true })).toBeUndefined();
  });

  it('reports unpaired UTF-16 surrogates in strings and keys, which jsonb refuses', () => {
    expect(jsonProblem({ a: ['ok', 'cut \ud83d'] })).toEqual({ path: 'a[1]', message: 'must not contain an unpaired UTF-16 surrogate (U+D83D)' });
    expect(jsonProblem({ a: { '\ude00k': 1 } })).toEqual({ path: 'a', message: 'keys must not contain an unpaired UTF-16 surrogate (U+DE00)' });
    expect(jsonProblem(JSON.parse('{"note":"\\ud83d"}'))).toMatchObject({ path: 'note' });
    expect(jsonProblem({ a: 'x\ud83d' }, { anyText: true })).toBeUndefined();
  });
});

describe('unstorableText', () => {
  it.each([
    ['plain text', 'stock 5 ✓', undefined],
    ['a whole emoji (a surrogate pair)', 'ok \ud83d\ude00 ok', undefined],
    ['U+0000', 'a\u0000', 'U+0000'],
    ['a high surrogate at the end', 'cut \ud83d', 'an unpaired UTF-16 surrogate (U+D83D)'],
    ['a high surrogate before another character', '\ud83dx', 'an unpaired UTF-16 surrogate (U+D83D)'],
    ['a low surrogate first', '\ude00 tail', 'an unpaired UTF-16 surrogate (U+DE00)'],
    ['two high surrogates', '\ud83d\ud83d\ude00', 'an unpaired UTF-16 surrogate (U+D83D)'],
  ])('%s', (_name, text, problem) => {
    expect(unstorableText(text)).toBe(problem);
  });
});

describe('storableText', () => {
  it('leaves storable text as it is, emoji pairs included', () => {
    expect(storableText('out of stock 🫖')).toBe('out of stock 🫖');
  });

  it('drops U+0000 and replaces each unpaired surrogate with U+FFFD', () => {
    const cut = 'tea 🫖'.slice(0, -1); // the emoji cut in half
    expect(storableText(`a\u0000b ${cut}`)).toBe('ab tea \uFFFD');
    expect(storableText('\udc00x\ud83d')).toBe('\uFFFDx\uFFFD');
    expect(unstorableText(storableText(`\u0000${cut}\udc00`))).toBeUndefined();
  });
});
