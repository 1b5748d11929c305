import { SavepointPolicy } from './savepoint-policy';

describe('SavepointPolicy', () => {
  const after = (outcomes: boolean[]) => {
    const policy = new SavepointPolicy();
    outcomes.forEach((failed) => policy.observe(failed));
    return policy.wanted();
  };

  it('takes no savepoints while handlers succeed', () => {
    expect(after([])).toBe(false);
    expect(after(Array(1000).fill(false))).toBe(false);
  });

  it('a rare miss costs its rerun and nothing after it', () => {
    expect(after([true])).toBe(false);
    // One transaction in ten with a refusal: rerunning those is cheaper than savepoints for all.
    expect(after(Array.from({ length: 200 }, (_, i) => i % 10 === 0))).toBe(false);
  });

  it('takes them from the start where handlers keep failing, and stops once they succeed again', () => {
    expect(after([true, true, true])).toBe(true);
    expect(after(Array.from({ length: 200 }, (_, i) => i % 2 === 0))).toBe(true);
    const policy = new SavepointPolicy();
    for (let n = 0; n < 50; n++) policy.observe(true);
    let clean = 0;
    while (policy.wanted()) {
      policy.observe(false);
      clean++;
    }
    expect(clean).toBeGreaterThan(5);
    expect(clean).toBeLessThan(20);
  });
});
