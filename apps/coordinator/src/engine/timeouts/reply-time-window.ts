/**
 * The estimator behind adaptive timeouts: one participant's latest reply times, as pure
 * functions over an immutable window. A fixed number of the latest observations, rather
 * than a decaying histogram: exact percentiles, and old times leave as soon as enough new
 * ones came, however quiet the participant has been in between.
 */
export interface ReplyTimeWindow {
  /** The latest reply times in ms, oldest first; at most the window's size. */
  readonly recent: readonly number[];
  /** The same times in ascending order, so that a percentile costs one lookup. */
  readonly sorted: readonly number[];
}

export const EMPTY_REPLY_TIMES: ReplyTimeWindow = { recent: [], sorted: [] };

/** What a window says of a participant: one percentile of its reply times, and how many it rests on. */
export interface ReplyTimeEstimate {
  readonly percentileMs: number;
  readonly samples: number;
}

/** Takes in one reply time (ms), dropping the oldest once `size` are kept. */
export function observeReplyTime(window: ReplyTimeWindow, ms: number, size: number): ReplyTimeWindow {
  const sorted = [...window.sorted];
  const dropped = window.recent.length >= size ? window.recent.slice(0, window.recent.length - size + 1) : [];
  for (const old of dropped) sorted.splice(lowerBound(sorted, old), 1);
  sorted.splice(lowerBound(sorted, ms), 0, ms);
  return { recent: [...window.recent.slice(dropped.length), ms], sorted };
}

/**
 * The `percentile`th (0–100, nearest rank) of the window's reply times, or null while it
 * holds fewer than `minSamples`.
 */
export function estimateReplyTime(window: ReplyTimeWindow, percentile: number, minSamples: number): ReplyTimeEstimate | null {
  const samples = window.sorted.length;
  if (samples === 0 || samples < minSamples) return null;
  const rank = Math.min(samples, Math.max(1, Math.ceil((percentile / 100) * samples)));
  return { percentileMs: window.sorted[rank - 1], samples };
}

/** The first index of `sorted` whose value is not below `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
