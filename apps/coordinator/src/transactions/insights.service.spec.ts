import { COUNT_LIMIT, InsightsService } from './insights.service';
import { InsightsRepository } from './persistence/insights.repository';

describe('InsightsService', () => {
  const now = Date.parse('2026-11-21T10:00:30Z');
  const at = (iso: string) => new Date(iso);
  const read: unknown[][] = [];
  let matched = new Map([
    ['failed', 2],
    ['completed', 5],
  ]);
  const repository = {
    countByStatus: async () => matched,
    endedPerBucket: async (...args: unknown[]) => {
      read.push(args);
      return [
        { start: at('2026-11-21T09:58:00Z'), ended: 7, compensated: 0, failed: 1 },
        { start: at('2026-11-21T09:59:00Z'), ended: 1, compensated: 1, failed: 0 },
      ];
    },
    live: async () => new Map([['running', 2]]),
    stuck: async () => [],
  } as unknown as InsightsRepository;
  const service = new InsightsService(repository);

  it('counts every status, 0 when none', async () => {
    expect(await service.counts({})).toEqual({
      counts: { running: 0, compensating: 0, completed: 5, compensated: 0, failed: 2 },
      total: 7,
      capped: false,
    });
  });

  it('says "more than" beyond the count limit, each status a lower bound', async () => {
    const exact = new Map([
      ['completed', COUNT_LIMIT - 3],
      ['failed', 3],
    ]);
    const over = new Map([
      ['completed', COUNT_LIMIT - 3],
      ['failed', 4],
    ]);
    matched = exact;
    expect(await service.counts({})).toMatchObject({ total: COUNT_LIMIT, capped: false });
    matched = over;
    expect(await service.counts({})).toEqual({
      counts: { running: 0, compensating: 0, completed: COUNT_LIMIT - 4, compensated: 0, failed: 4 },
      total: COUNT_LIMIT,
      capped: true,
    });
  });

  it('counts the ends per bucket of the rollup by outcome, with rates as shares of them, and the live ones apart', async () => {
    read.length = 0;
    const overview = await service.overview({ windowMinutes: 5, stuckMinutes: 5 }, now);
    // 5 minutes read 5 one-minute buckets, the current one (10:00) the newest
    expect(read).toEqual([[60, at('2026-11-21T09:56:00Z')]]);
    expect(overview).toMatchObject({ from: '2026-11-21T09:56:00.000Z', windowMinutes: 5, bucketSeconds: 60 });
    expect(overview.ended).toEqual({ completed: 6, compensated: 1, failed: 1, total: 8 });
    // 8 ended over the 4.5 minutes since 09:56
    expect(overview.throughputPerMinute).toBe(8 / 4.5);
    expect(overview.rates).toEqual({ completed: 6 / 8, compensated: 1 / 8, failed: 1 / 8 });
    expect(overview.endedPerBucket).toEqual([
      { start: '2026-11-21T09:58:00.000Z', completed: 6, compensated: 0, failed: 1 },
      { start: '2026-11-21T09:59:00.000Z', completed: 0, compensated: 1, failed: 0 },
    ]);
    expect(overview.live).toEqual({ running: 2, compensating: 0, total: 2 });
  });

  it('reads wider buckets for longer windows', async () => {
    read.length = 0;
    const day = await service.overview({ windowMinutes: 1440, stuckMinutes: 5 }, now);
    expect(read).toEqual([[3600, at('2026-11-20T11:00:00Z')]]);
    expect(day).toMatchObject({ from: '2026-11-20T11:00:00.000Z', bucketSeconds: 3600 });
    // the current hour began half a minute ago: throughput over the 23 h 0.5 min covered
    expect(day.throughputPerMinute).toBe(8 / (23 * 60 + 0.5));
  });

  it('has zero rates when nothing ended', async () => {
    const empty = new InsightsService({ ...repository, endedPerBucket: async () => [] } as unknown as InsightsRepository);
    const overview = await empty.overview({ windowMinutes: 60, stuckMinutes: 5 }, now);
    expect(overview.rates).toEqual({ completed: 0, compensated: 0, failed: 0 });
    expect(overview.ended.total).toBe(0);
  });
});
