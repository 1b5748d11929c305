import { InsightsService } from './insights.service';
import { InsightsRepository } from './persistence/insights.repository';

describe('InsightsService', () => {
  const now = Date.parse('2026-11-21T10:00:30Z');
  const at = (iso: string) => new Date(iso);
  const repository = {
    countByStatus: async () => new Map([['failed', 2], ['completed', 5]]),
    startedPerMinute: async () => [
      { minute: at('2026-11-21T09:58:00Z'), status: 'completed', count: 6 },
      { minute: at('2026-11-21T09:58:00Z'), status: 'failed', count: 1 },
      { minute: at('2026-11-21T09:59:00Z'), status: 'compensated', count: 1 },
      { minute: at('2026-11-21T09:59:00Z'), status: 'running', count: 2 },
    ],
    stuck: async () => [],
  } as unknown as InsightsRepository;
  const service = new InsightsService(repository);

  it('counts every status, 0 when none', async () => {
    expect(await service.counts({})).toEqual({ counts: { running: 0, compensating: 0, completed: 5, compensated: 0, failed: 2 }, total: 7 });
  });

  it('gives rates as shares of the finished transactions, and counts per minute', async () => {
    const overview = await service.overview({ windowMinutes: 5, stuckMinutes: 5 }, now);
    expect(overview.from).toBe('2026-11-21T09:55:30.000Z');
    expect(overview.started.total).toBe(10);
    expect(overview.throughputPerMinute).toBe(2);
    // 8 finished: the 2 running ones are not counted in the rates.
    expect(overview.rates).toEqual({ completed: 6 / 8, compensated: 1 / 8, failed: 1 / 8 });
    expect(overview.perMinute.map((b) => [b.minute, b.counts.completed, b.counts.running])).toEqual([
      ['2026-11-21T09:58:00.000Z', 6, 0],
      ['2026-11-21T09:59:00.000Z', 0, 2],
    ]);
  });

  it('has zero rates when nothing finished', async () => {
    const empty = new InsightsService({ ...repository, startedPerMinute: async () => [] } as unknown as InsightsRepository);
    expect((await empty.overview({ windowMinutes: 60, stuckMinutes: 5 }, now)).rates).toEqual({ completed: 0, compensated: 0, failed: 0 });
  });
});
