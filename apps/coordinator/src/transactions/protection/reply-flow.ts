import { PartitionLag } from '@ordo/platform';

/** How the coordinators' consumption of one reply partition moves. */
export interface PartitionProgress {
  readonly committed: number;
  readonly lag: number;
  /** Since when the replies now waiting have waited: the offset's last move, or the last catch-up reading. */
  readonly movingAt: number;
}

/** Folds a new lag reading into the partitions' progress. */
export function trackProgress(
  previous: ReadonlyMap<number, PartitionProgress>,
  lags: readonly PartitionLag[],
  now: number,
): Map<number, PartitionProgress> {
  return new Map(
    lags.map(({ partition, committed, lag }) => {
      const before = previous.get(partition);
      const moving = !before || before.committed !== committed || before.lag === 0 || lag === 0;
      return [partition, { committed, lag, movingAt: moving ? now : before.movingAt }];
    }),
  );
}

/**
 * Replies are stuck when some partition holds unconsumed replies and its committed offset
 * has not moved for `stallMs` — e.g. its consumer died and Kafka has not reassigned it yet.
 */
export function repliesStalled(progress: ReadonlyMap<number, PartitionProgress>, now: number, stallMs: number): boolean {
  return [...progress.values()].some((p) => p.lag > 0 && now - p.movingAt >= stallMs);
}
