import fc from 'fast-check';
import { bucketOf, countOf, histogramOf, percentileOf } from './latency-histogram';

describe('latency histogram', () => {
  it('puts each duration in its log-scale bucket', () => {
    expect([0, 0.5, 1, 1.1, 2, 3, 4, 1000].map(bucketOf)).toEqual([0, 0, 1, 1, 5, 7, 9, 40]);
    expect(bucketOf(10 ** 12)).toBe(109); // the last bucket takes everything longer
  });

  it('counts per bucket, without trailing zeros', () => {
    expect(histogramOf([0, 1, 1])).toEqual([1, 2]);
    expect(countOf(histogramOf([5, 50, 500]))).toBe(3);
  });

  it('reads exact extremes and clamps to the range seen', () => {
    const h = histogramOf([10, 20, 30]);
    expect(percentileOf(h, 0.99, { min: 10, max: 30 })).toBe(30);
    expect(percentileOf(histogramOf([7]), 0.5, { min: 7, max: 7 })).toBe(7);
    expect(percentileOf([], 0.5, { min: 0, max: 0 })).toBeNull();
  });

  it('reads any percentile within 19 % of the exact one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 600 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (durations, q) => {
          const all = [...durations].sort((x, y) => x - y);
          const range = { min: all[0], max: all.at(-1)! };
          const exact = all[Math.max(1, Math.ceil(q * all.length)) - 1];
          const read = percentileOf(histogramOf(all), q, range)!;
          expect(Math.abs(read - exact)).toBeLessThanOrEqual(exact * 0.19 + 0.1);
        },
      ),
    );
  });
});
