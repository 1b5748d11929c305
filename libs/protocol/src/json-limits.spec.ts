import { jsonProblem, MAX_JSON_DEPTH } from './json-limits';

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
    expect(jsonProblem({ a: 'b\u0000' }, { allowNul: true })).toBeUndefined();
  });
});
