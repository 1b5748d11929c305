import fc from 'fast-check';
import { retryDelayMs } from './retry-delay';

describe('retryDelayMs', () => {
  it('doubles from 1 s at the top of its range', () => {
    expect([1, 2, 3, 4].map((attempts) => retryDelayMs(attempts, () => 0))).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('stops growing at 5 min', () => {
    expect(retryDelayMs(9, () => 0)).toBe(256_000);
    expect(retryDelayMs(10, () => 0)).toBe(300_000);
    expect(retryDelayMs(1_000, () => 0)).toBe(300_000);
  });

  it('is shortened by at most half, never lengthened', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (attempts, random) => {
        const ceiling = retryDelayMs(attempts, () => 0);
        const delay = retryDelayMs(attempts, () => random);
        return delay <= ceiling && delay >= ceiling / 2;
      }),
    );
  });
});
