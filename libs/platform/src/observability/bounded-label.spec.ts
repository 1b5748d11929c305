import { BoundedLabel, OTHER_LABEL } from './bounded-label';

describe('BoundedLabel', () => {
  it('keeps the first values up to its limit and reports later ones as _other', () => {
    const label = new BoundedLabel(2);
    expect([label.of('a'), label.of('b'), label.of('c'), label.of('a'), label.of('d')]).toEqual(['a', 'b', OTHER_LABEL, 'a', OTHER_LABEL]);
  });

  it('cuts long values and names missing ones', () => {
    const label = new BoundedLabel(10);
    expect(label.of('x'.repeat(100))).toHaveLength(64);
    expect(label.of(undefined)).toBe('none');
    expect(label.of('')).toBe('none');
  });
});
