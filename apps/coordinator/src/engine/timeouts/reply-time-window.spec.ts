import { EMPTY_REPLY_TIMES, estimateReplyTime, observeReplyTime, ReplyTimeWindow } from './reply-time-window';

const fed = (times: readonly number[], size: number): ReplyTimeWindow =>
  times.reduce((window, ms) => observeReplyTime(window, ms, size), EMPTY_REPLY_TIMES);

describe('reply time window', () => {
  it('keeps the latest `size` reply times, in arrival order and sorted', () => {
    expect(fed([30, 10, 20, 10, 50], 3)).toEqual({ recent: [20, 10, 50], sorted: [10, 20, 50] });
  });

  it('shrinks to a smaller size at the next reply', () => {
    expect(observeReplyTime(fed([1, 2, 3, 4], 4), 5, 2)).toEqual({ recent: [4, 5], sorted: [4, 5] });
  });

  it('gives the nearest-rank percentile once it holds `minSamples`', () => {
    const window = fed([100, 20, 40, 80, 60, 10, 30, 50, 70, 90], 10);
    expect(estimateReplyTime(window, 50, 10)).toEqual({ percentileMs: 50, samples: 10 });
    expect(estimateReplyTime(window, 90, 10)).toEqual({ percentileMs: 90, samples: 10 });
    expect(estimateReplyTime(window, 99, 10)).toEqual({ percentileMs: 100, samples: 10 });
    expect(estimateReplyTime(window, 100, 5)).toEqual({ percentileMs: 100, samples: 10 });
    expect(estimateReplyTime(window, 99, 11)).toBeNull();
    expect(estimateReplyTime(EMPTY_REPLY_TIMES, 99, 1)).toBeNull();
  });
});
