import { MAX_TAGS, TAG_FILTER_PATTERN, tagOfFilter, tagsProblem } from './tags';

describe('tags', () => {
  it('accepts string values under well-formed keys, up to the bounds', () => {
    expect(tagsProblem({})).toBeNull();
    expect(tagsProblem({ orderId: 'o-1', 'ship.to_zip-code': 'Zürich: 8001' })).toBeNull();
    expect(tagsProblem({ ['k'.repeat(63)]: 'v'.repeat(200) })).toBeNull();
    expect(tagsProblem(Object.fromEntries(Array.from({ length: MAX_TAGS }, (_, i) => [`k${i}`, 'v'])))).toBeNull();
  });

  it.each([
    [null, /must be an object/],
    [['a'], /must be an object/],
    ['orderId=1', /must be an object/],
    [{ '1st': 'x' }, /key "1st"/],
    [{ 'a:b': 'x' }, /key "a:b"/],
    [{ 'a=b': 'x' }, /key "a=b"/],
    [{ ['k'.repeat(64)]: 'x' }, /must be a letter followed by at most 62/],
    [{ a: 1 }, /a must be a string/],
    [{ a: '' }, /1 to 200/],
    [{ a: 'v'.repeat(201) }, /1 to 200/],
    [{ a: 'x\u0000y' }, /control characters/],
    [Object.fromEntries(Array.from({ length: MAX_TAGS + 1 }, (_, i) => [`k${i}`, 'v'])), /at most 16 tags/],
  ])('refuses %j', (tags, problem) => {
    expect(tagsProblem(tags)).toMatch(problem);
  });

  it('reads a filter as key, then the value after the first colon', () => {
    expect(TAG_FILTER_PATTERN.test('orderId:o-1')).toBe(true);
    expect(TAG_FILTER_PATTERN.test('at:10:30')).toBe(true);
    expect(tagOfFilter('at:10:30')).toEqual({ at: '10:30' });
    for (const bad of ['orderId', 'orderId:', ':x', '1a:x', `a:${'v'.repeat(201)}`, 'a:x\ny']) expect(TAG_FILTER_PATTERN.test(bad)).toBe(false);
  });
});
