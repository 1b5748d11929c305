import { HistoryEvent, TimedEvent } from '../engine';
import { endTimings } from './end-timings';
import { bucketSecondsFor, rollupOf, summarize } from './timing-rollup';

const at = (ms: number, event: HistoryEvent): TimedEvent => ({ at: ms, event });
const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);

/** A saga: `order` succeeds at once, `stock` after a retry; then refused by `pay`, `order` compensated. */
const history: TimedEvent[] = [
  at(T0, { type: 'transaction.started', deadline: null, actor: 'tester' }),
  at(T0 + 1, { type: 'step.dispatched', stepId: 'order', phase: 'execute', attempt: 1, deadline: 0 }),
  at(T0 + 11, { type: 'step.replied', stepId: 'order', phase: 'execute', attempt: 1, outcome: 'success' }),
  at(T0 + 12, { type: 'step.dispatched', stepId: 'stock', phase: 'execute', attempt: 1, deadline: 0 }),
  at(T0 + 20, { type: 'step.replied', stepId: 'stock', phase: 'execute', attempt: 1, outcome: 'retry' }),
  at(T0 + 20, { type: 'step.retry_scheduled', stepId: 'stock', phase: 'execute', attempt: 2, dueAt: T0 + 120 }),
  at(T0 + 120, { type: 'step.dispatched', stepId: 'stock', phase: 'execute', attempt: 2, deadline: 0 }),
  at(T0 + 150, { type: 'step.replied', stepId: 'stock', phase: 'execute', attempt: 2, outcome: 'success' }),
  at(T0 + 151, { type: 'step.dispatched', stepId: 'pay', phase: 'execute', attempt: 1, deadline: 0 }),
  at(T0 + 160, { type: 'step.replied', stepId: 'pay', phase: 'execute', attempt: 1, outcome: 'failure' }),
  at(T0 + 161, { type: 'step.dispatched', stepId: 'order', phase: 'compensate', attempt: 1, deadline: 0 }),
  at(T0 + 166, { type: 'step.replied', stepId: 'order', phase: 'compensate', attempt: 1, outcome: 'success' }),
  at(T0 + 167, { type: 'transaction.status_changed', from: 'compensating', to: 'compensated' }),
];

describe('endTimings', () => {
  it('times the transaction and every step phase that ran', () => {
    expect(endTimings(history, history.length - 1)).toEqual({
      at: T0 + 167,
      status: 'compensated',
      samples: [
        { stepId: '', phase: '', failure: true, needsOperator: false, retries: 0, durationMs: 167, totalMs: 167 },
        { stepId: 'order', phase: 'execute', failure: false, needsOperator: false, retries: 0, durationMs: 10, totalMs: 10 },
        { stepId: 'stock', phase: 'execute', failure: false, needsOperator: false, retries: 1, durationMs: 30, totalMs: 138 },
        { stepId: 'pay', phase: 'execute', failure: true, needsOperator: false, retries: 0, durationMs: null, totalMs: 9 },
        { stepId: 'order', phase: 'compensate', failure: false, needsOperator: false, retries: 0, durationMs: 5, totalMs: 5 },
      ],
    });
  });

  it('counts only what a replay did at a later end', () => {
    const replayed: TimedEvent[] = [
      ...history.slice(0, 11),
      at(T0 + 5000, { type: 'step.timed_out', stepId: 'order', phase: 'compensate', attempt: 1 }),
      at(T0 + 5001, { type: 'transaction.status_changed', from: 'compensating', to: 'failed' }),
      at(T0 + 9000, { type: 'transaction.status_changed', from: 'failed', to: 'compensating' }),
      at(T0 + 9000, { type: 'step.dispatched', stepId: 'order', phase: 'compensate', attempt: 2, deadline: 0 }),
      at(T0 + 9004, { type: 'step.replied', stepId: 'order', phase: 'compensate', attempt: 2, outcome: 'success' }),
      at(T0 + 9005, { type: 'transaction.status_changed', from: 'compensating', to: 'compensated' }),
    ];
    expect(endTimings(replayed, 12).samples[0]).toMatchObject({ failure: true, needsOperator: true, durationMs: 5001 });
    expect(endTimings(replayed, 12).samples.at(-1)).toMatchObject({ stepId: 'order', phase: 'compensate', failure: true, totalMs: 4839 });
    expect(endTimings(replayed, 16).samples).toEqual([
      { stepId: '', phase: '', failure: true, needsOperator: false, retries: 0, durationMs: 9005, totalMs: 9005 },
      { stepId: 'order', phase: 'compensate', failure: false, needsOperator: false, retries: 0, durationMs: 4, totalMs: 4 },
    ]);
  });

  it('refuses an index that is no end', () => expect(() => endTimings(history, 0)).toThrow('not an end'));
});

describe('rollupOf and summarize', () => {
  const end = endTimings(history, history.length - 1);
  const later = { ...end, at: end.at + 60_000 };

  it('writes one row per series and bucket of each width, the same keys added up', () => {
    const rows = rollupOf([
      { definitionName: 'place-order', timings: end },
      { definitionName: 'place-order', timings: end },
      { definitionName: 'place-order', timings: later },
    ]);
    // 5 series × (2 minutes + 1 ten minutes + 1 hour)
    expect(rows).toHaveLength(20);
    const hourOfTx = rows.find((r) => r.bucketSeconds === 3600 && r.stepId === '')!;
    expect(hourOfTx).toMatchObject({ bucketStart: T0, count: 3, failures: 3, needsOperator: 0, durationRange: { min: 167, max: 167 } });
    const minuteOfStock = rows.find((r) => r.bucketSeconds === 60 && r.stepId === 'stock' && r.bucketStart === T0)!;
    expect(minuteOfStock).toMatchObject({ count: 2, failures: 0, retries: 2, totalRange: { min: 138, max: 138 } });
  });

  it('adds the rows of a window up per series, with percentiles', () => {
    const rows = rollupOf([
      { definitionName: 'place-order', timings: end },
      { definitionName: 'place-order', timings: later },
    ]);
    const summary = summarize(rows.filter((r) => r.bucketSeconds === 60));
    expect(summary.map((s) => [s.stepId, s.phase, s.count, s.failures])).toEqual([
      ['', '', 2, 2],
      ['order', 'execute', 2, 0],
      ['stock', 'execute', 2, 0],
      ['pay', 'execute', 2, 2],
      ['order', 'compensate', 2, 0],
    ]);
    expect(summary[2].duration).toEqual({ p50: 30, p95: 30, p99: 30, max: 30 });
    expect(summary[3].duration).toBeNull();
    expect(summary[3].total).toEqual({ p50: 9, p95: 9, p99: 9, max: 9 });
  });
});

describe('bucketSecondsFor', () => {
  it('reads at most 24 buckets per series', () => {
    expect([1, 24, 25, 60, 240, 241, 1440].map(bucketSecondsFor)).toEqual([60, 60, 600, 600, 600, 3600, 3600]);
  });
});

describe('summarize', () => {
  it('adds rows of any histogram lengths up into the percentiles of all their durations', () => {
    const durations = [3, 5, 8, 13, 21, 34, 55, 89, 144, 233];
    const ends = durations.map((ms, i) => ({
      definitionName: 'd',
      timings: {
        at: T0 + i * 60_000,
        status: 'completed' as const,
        samples: [{ stepId: '', phase: '', failure: false, needsOperator: false, retries: 0, durationMs: ms, totalMs: ms }],
      },
    }));
    const [tx] = summarize(rollupOf(ends).filter((r) => r.bucketSeconds === 60));
    expect(tx.count).toBe(10);
    expect(tx.duration).toEqual({ p50: 22.6, p95: 233, p99: 233, max: 233 }); // 21 is in [19.0, 22.6)
    expect(tx.duration!.p50).toBeGreaterThanOrEqual(21 / 1.19);
    expect(tx.duration!.p50).toBeLessThanOrEqual(21 * 1.19);
  });
});
