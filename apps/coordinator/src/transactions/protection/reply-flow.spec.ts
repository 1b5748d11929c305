import { repliesStalled, trackProgress } from './reply-flow';

describe('reply flow', () => {
  const lag = (partition: number, committed: number, lagging: number) => ({ partition, committed, lag: lagging });

  it('is not stalled while offsets move or nothing waits', () => {
    let progress = trackProgress(new Map(), [lag(0, 10, 5), lag(1, 3, 0)], 0);
    progress = trackProgress(progress, [lag(0, 14, 6), lag(1, 3, 0)], 5000);
    expect(repliesStalled(progress, 5000, 2000)).toBe(false);
    progress = trackProgress(progress, [lag(0, 14, 0), lag(1, 3, 0)], 9000);
    expect(repliesStalled(progress, 9000, 2000)).toBe(false);
  });

  it('is stalled when a partition with waiting replies has not moved for stallMs', () => {
    let progress = trackProgress(new Map(), [lag(0, 10, 5), lag(1, 3, 0)], 0);
    progress = trackProgress(progress, [lag(0, 20, 1), lag(1, 3, 4)], 1000);
    expect(repliesStalled(progress, 1000, 2000)).toBe(false);
    progress = trackProgress(progress, [lag(0, 21, 0), lag(1, 3, 9)], 2500);
    expect(repliesStalled(progress, 2500, 2000)).toBe(false);
    progress = trackProgress(progress, [lag(0, 21, 0), lag(1, 3, 12)], 3100);
    // Partition 1's replies have waited since 1000 ms without its offset moving.
    expect(repliesStalled(progress, 3100, 2000)).toBe(true);
    progress = trackProgress(progress, [lag(0, 21, 0), lag(1, 15, 0)], 3500);
    expect(repliesStalled(progress, 3500, 2000)).toBe(false);
  });
});
