import { EndTimings, TimingSample } from './end-timings';
import { Histogram, histogramOf, percentileOf, Range } from './latency-histogram';

/** The widths of the rollup's time buckets: a minute, ten minutes, an hour. Each end is added to one bucket of each. */
export const BUCKET_SECONDS = [60, 600, 3600] as const;
/** Most buckets a window reads per series: it takes the narrowest width that covers it in so many. */
export const BUCKETS_PER_WINDOW = 24;

/** The bucket width a window of `windowMinutes` reads: minutes up to 24, ten minutes up to 240, hours beyond. */
export const bucketSecondsFor = (windowMinutes: number) =>
  BUCKET_SECONDS.find((width) => windowMinutes * 60 <= width * BUCKETS_PER_WINDOW) ?? BUCKET_SECONDS[BUCKET_SECONDS.length - 1];

/** The buckets a window of `windowMinutes` reads at `now`: their width, and the start (epoch ms) of the oldest, the current bucket being the newest. */
export function rollupWindow(windowMinutes: number, now: number): { bucketSeconds: number; from: number } {
  const bucketSeconds = bucketSecondsFor(windowMinutes);
  const width = bucketSeconds * 1000;
  return { bucketSeconds, from: Math.floor(now / width) * width - (Math.ceil((windowMinutes * 60_000) / width) - 1) * width };
}

/** What one series (a definition as a whole, or one of its step phases) counted over some time. */
export interface SeriesCounts {
  readonly definitionName: string;
  /** '' for the transaction as a whole. */
  readonly stepId: string;
  readonly phase: string;
  readonly count: number;
  readonly failures: number;
  readonly needsOperator: number;
  readonly retries: number;
  readonly duration: Histogram;
  readonly durationRange: Range | null;
  readonly total: Histogram;
  readonly totalRange: Range | null;
}

/** A series over one time bucket: a row of the rollup. */
export interface RollupRow extends SeriesCounts {
  readonly bucketSeconds: number;
  /** Epoch ms, a multiple of bucketSeconds. */
  readonly bucketStart: number;
}

const rangeOf = (values: readonly number[]): Range | null => (values.length === 0 ? null : { min: Math.min(...values), max: Math.max(...values) });
const mergeRanges = (a: Range | null, b: Range | null): Range | null =>
  a === null ? b : b === null ? a : { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };

type SeriesKey = Pick<SeriesCounts, 'definitionName' | 'stepId' | 'phase'>;

type Sum<T extends SeriesCounts> = { -readonly [K in keyof T]: T[K] } & { duration: number[]; total: number[] };

/** Adds `from` into `into`, in place: a window adds up hundreds of rows, and copies would cost more than reading them. */
function addInto(into: number[], from: Histogram) {
  for (let i = 0; i < from.length; i++) into[i] = (into[i] ?? 0) + from[i];
}

/** The rows added up per `keyOf`, in the order each key first appears (each sum carries its first row's bucket). */
function sumBy<T extends SeriesCounts>(rows: Iterable<T>, keyOf: (row: T) => string): Sum<T>[] {
  const sums = new Map<string, Sum<T>>();
  for (const row of rows) {
    const key = keyOf(row);
    const sum = sums.get(key);
    if (!sum) {
      sums.set(key, { ...row, duration: [...row.duration], total: [...row.total] });
      continue;
    }
    sum.count += row.count;
    sum.failures += row.failures;
    sum.needsOperator += row.needsOperator;
    sum.retries += row.retries;
    addInto(sum.duration, row.duration);
    addInto(sum.total, row.total);
    sum.durationRange = mergeRanges(sum.durationRange, row.durationRange);
    sum.totalRange = mergeRanges(sum.totalRange, row.totalRange);
  }
  return [...sums.values()];
}

const seriesKey = (r: SeriesKey) => `${r.definitionName}\u0000${r.stepId}\u0000${r.phase}`;

function sampleRow(definitionName: string, bucketSeconds: number, at: number, s: TimingSample): RollupRow {
  const durations = s.durationMs === null ? [] : [s.durationMs];
  const width = bucketSeconds * 1000;
  return {
    definitionName,
    stepId: s.stepId,
    phase: s.phase,
    bucketSeconds,
    bucketStart: Math.floor(at / width) * width,
    count: 1,
    failures: s.failure ? 1 : 0,
    needsOperator: s.needsOperator ? 1 : 0,
    retries: s.retries,
    duration: histogramOf(durations),
    durationRange: rangeOf(durations),
    total: histogramOf([s.totalMs]),
    totalRange: rangeOf([s.totalMs]),
  };
}

/** What these ends add to the rollup: one row per series and bucket (of every width), each key once. */
export function rollupOf(ends: readonly { definitionName: string; timings: EndTimings }[]): RollupRow[] {
  const rows = ends.flatMap(({ definitionName, timings }) =>
    timings.samples.flatMap((sample) => BUCKET_SECONDS.map((width) => sampleRow(definitionName, width, timings.at, sample))),
  );
  return sumBy(rows, (row) => `${seriesKey(row)}\u0000${row.bucketSeconds}\u0000${row.bucketStart}`);
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** One series over a whole window. */
export interface SeriesSummary extends SeriesKey {
  readonly count: number;
  readonly failures: number;
  readonly needsOperator: number;
  readonly retries: number;
  /** Of the successful ones; null when none succeeded. */
  readonly duration: Percentiles | null;
  readonly total: Percentiles | null;
}

function percentiles(histogram: Histogram, range: Range | null): Percentiles | null {
  if (range === null) return null;
  const at = (q: number) => percentileOf(histogram, q, range)!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: range.max };
}

/** The rows of a window added up per series, in the rows' order of first appearance. */
export function summarize(rows: readonly SeriesCounts[]): SeriesSummary[] {
  return sumBy(rows, seriesKey).map((s) => ({
    definitionName: s.definitionName,
    stepId: s.stepId,
    phase: s.phase,
    count: s.count,
    failures: s.failures,
    needsOperator: s.needsOperator,
    retries: s.retries,
    duration: percentiles(s.duration, s.durationRange),
    total: percentiles(s.total, s.totalRange),
  }));
}
