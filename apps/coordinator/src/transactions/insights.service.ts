import { Injectable } from '@nestjs/common';
import { TX_STATUSES, TxStatus } from '../engine';
import { TransactionFilterDto } from './dto/transaction-requests.dto';
import { rollupWindow } from '../stats/timing-rollup';
import { Outcomes, Overview, OverviewQuery, StatusCounts, TransactionSummary } from './dto/insight-views.dto';
import { InsightsRepository } from './persistence/insights.repository';

const MOST_STUCK = 50;

/**
 * Counts are exact up to this many matches; beyond, the answer says "more than" (`capped`):
 * counting a quarter of a million matches costs most of a second (5,000 take ~20 ms at a million rows), and nobody needs the last digit.
 */
export const COUNT_LIMIT = 5_000;

const zeroes = (): Record<TxStatus, number> => Object.fromEntries(TX_STATUSES.map((s) => [s, 0])) as Record<TxStatus, number>;

/** Counts of up to COUNT_LIMIT + 1 matches: one more than the limit means more than the limit matched. */
function statusCounts(entries: Iterable<[TxStatus, number]>): StatusCounts {
  const counts = zeroes();
  let total = 0;
  for (const [status, count] of entries) {
    counts[status] += count;
    total += count;
  }
  if (total <= COUNT_LIMIT) return { counts, total, capped: false };
  // Each status's count stays a lower bound with the one beyond the limit taken off the largest.
  const largest = TX_STATUSES.reduce((a, b) => (counts[b] > counts[a] ? b : a));
  counts[largest] -= 1;
  return { counts, total: COUNT_LIMIT, capped: true };
}

/**
 * What the dashboard shows besides single transactions: counts, rates, stuck work. The overview's
 * figures cost the buckets of the timing rollup and the transactions in flight, never the traffic.
 */
@Injectable()
export class InsightsService {
  constructor(private readonly insights: InsightsRepository) {}

  async counts(filter: TransactionFilterDto): Promise<StatusCounts> {
    return statusCounts(await this.insights.countByStatus(filter, COUNT_LIMIT + 1));
  }

  async overview(query: OverviewQuery, now = Date.now()): Promise<Overview> {
    const window = rollupWindow(query.windowMinutes, now);
    const [buckets, live, stuck] = await Promise.all([
      this.insights.endedPerBucket(window.bucketSeconds, new Date(window.from)),
      this.insights.live(),
      this.insights.stuck(new Date(now - query.stuckMinutes * 60_000), MOST_STUCK),
    ]);
    const endedPerBucket = buckets.map((b) => ({
      start: b.start.toISOString(),
      completed: b.ended - b.compensated - b.failed,
      compensated: b.compensated,
      failed: b.failed,
    }));
    const sum = (outcome: keyof Outcomes) => endedPerBucket.reduce((n, b) => n + b[outcome], 0);
    const [completed, compensated, failed] = [sum('completed'), sum('compensated'), sum('failed')];
    const ended = { completed, compensated, failed, total: completed + compensated + failed };
    const share = (n: number) => (ended.total === 0 ? 0 : n / ended.total);
    const [running, compensating] = [live.get('running') ?? 0, live.get('compensating') ?? 0];
    return {
      from: new Date(window.from).toISOString(),
      windowMinutes: query.windowMinutes,
      bucketSeconds: window.bucketSeconds,
      ended,
      // The current bucket is partly over: per minute of the time actually covered (at least one, so a fresh bucket does not spike).
      throughputPerMinute: ended.total / Math.max(1, (now - window.from) / 60_000),
      rates: { completed: share(completed), compensated: share(compensated), failed: share(failed) },
      endedPerBucket,
      live: { running, compensating, total: running + compensating },
      stuckMinutes: query.stuckMinutes,
      stuck: stuck.map(TransactionSummary.of),
    };
  }
}
