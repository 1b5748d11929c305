/**
 * A mergeable latency sketch: counts in fixed log-scale buckets, so histograms of any minutes,
 * instances or steps add up bucket by bucket, and a percentile is read from the sum. Bucket 0
 * holds [0, 1) ms; bucket i ≥ 1 holds [2^((i-1)/4), 2^(i/4)) ms, each 2^(1/4) ≈ 1.19 times
 * as wide as the one before, so a percentile read from them is off by less than 19 %
 * (interpolated within its bucket, and never outside the smallest and largest value seen).
 */
const PER_DOUBLING = 4;
/** The last bucket holds everything from 2^27 ms (about 37 hours) up. */
const LAST = 1 + 27 * PER_DOUBLING;

/** Counts per bucket, bucket 0 first, without trailing zeros. */
export type Histogram = readonly number[];

/** The smallest and largest value a histogram holds, which its buckets alone do not tell. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

export const bucketOf = (ms: number): number => (ms < 1 ? 0 : Math.min(LAST, 1 + Math.floor(Math.log2(ms) * PER_DOUBLING)));
const lowerBound = (bucket: number) => (bucket === 0 ? 0 : 2 ** ((bucket - 1) / PER_DOUBLING));
const upperBound = (bucket: number) => 2 ** (bucket / PER_DOUBLING);

/** The histogram of these durations (ms). */
export function histogramOf(durations: readonly number[]): Histogram {
  const counts: number[] = [];
  for (const ms of durations) {
    const bucket = bucketOf(ms);
    while (counts.length <= bucket) counts.push(0);
    counts[bucket]++;
  }
  return counts;
}

export const countOf = (histogram: Histogram): number => histogram.reduce((sum, n) => sum + n, 0);

/** The value at quantile `q` (0 < q ≤ 1), to a tenth of a ms; null for an empty histogram. */
export function percentileOf(histogram: Histogram, q: number, range: Range): number | null {
  const rank = Math.max(1, Math.ceil(q * countOf(histogram)));
  let below = 0;
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    const count = histogram[bucket];
    if (below + count >= rank) {
      const lower = lowerBound(bucket);
      const value = lower + (upperBound(bucket) - lower) * ((rank - below) / count);
      return Math.round(Math.min(range.max, Math.max(range.min, value)) * 10) / 10;
    }
    below += count;
  }
  return null;
}
