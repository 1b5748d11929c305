import { Injectable } from '@nestjs/common';
import { TX_STATUSES, TxStatus } from '../engine';
import { TransactionFilterDto } from './dto/transaction-requests.dto';
import { Overview, OverviewQuery, StatusCounts, TransactionSummary } from './dto/insight-views.dto';
import { InsightsRepository } from './persistence/insights.repository';

const MOST_STUCK = 50;

const zeroes = (): Record<TxStatus, number> => Object.fromEntries(TX_STATUSES.map((s) => [s, 0])) as Record<TxStatus, number>;

function statusCounts(entries: Iterable<[TxStatus, number]>): StatusCounts {
  const counts = zeroes();
  let total = 0;
  for (const [status, count] of entries) {
    counts[status] += count;
    total += count;
  }
  return { counts, total };
}

/** What the dashboard shows besides single transactions: counts, rates, stuck work. */
@Injectable()
export class InsightsService {
  constructor(private readonly insights: InsightsRepository) {}

  async counts(filter: TransactionFilterDto): Promise<StatusCounts> {
    return statusCounts(await this.insights.countByStatus(filter));
  }

  async overview(query: OverviewQuery, now = Date.now()): Promise<Overview> {
    const from = new Date(now - query.windowMinutes * 60_000);
    const [buckets, stuck] = await Promise.all([
      this.insights.startedPerMinute(from),
      this.insights.stuck(new Date(now - query.stuckMinutes * 60_000), MOST_STUCK),
    ]);
    const perMinute = new Map<number, Record<TxStatus, number>>();
    for (const { minute, status, count } of buckets) {
      const counts = perMinute.get(minute.getTime()) ?? zeroes();
      counts[status] += count;
      perMinute.set(minute.getTime(), counts);
    }
    const started = statusCounts(buckets.map((b): [TxStatus, number] => [b.status, b.count]));
    const finished = started.counts.completed + started.counts.compensated + started.counts.failed;
    const share = (n: number) => (finished === 0 ? 0 : n / finished);
    return {
      from: from.toISOString(),
      windowMinutes: query.windowMinutes,
      started,
      throughputPerMinute: started.total / query.windowMinutes,
      rates: { completed: share(started.counts.completed), compensated: share(started.counts.compensated), failed: share(started.counts.failed) },
      perMinute: [...perMinute].map(([minute, counts]) => ({ minute: new Date(minute).toISOString(), counts })),
      stuckMinutes: query.stuckMinutes,
      stuck: stuck.map(TransactionSummary.of),
    };
  }
}
