import { runChaos } from '../../tools/chaos/chaos';

/**
 * `npm run chaos` at a small scale, so it cannot rot: the same kills (coordinators in turn,
 * each participant, the broker and the database once) on infrastructure of its own, never
 * the run's shared PostgreSQL and Kafka.
 */
describe('chaos (small)', () => {
  it('ends every transaction, keeps every invariant and applies nothing twice through kills', async () => {
    const report = await runChaos({
      sagas: 60,
      transfers: 20,
      twoPhase: 20,
      stuck: 1,
      concurrency: 6,
      minDurationMs: 30_000,
      killEveryMs: 1_000,
      transientRate: 0.1,
      log: (line) => process.stdout.write(`[chaos-small] ${line}\n`),
    });
    process.stdout.write(`${report.summary}\n`);
    expect(report.violations).toEqual(Object.fromEntries(Object.keys(report.violations).map((k) => [k, []])));
    expect(report.stuck).toEqual({ failed: 3, replayedCompensated: 3 });
    expect(new Set(report.kills.map((k) => k.kind))).toEqual(new Set(['coordinator', 'order', 'inventory', 'payment', 'kafka', 'postgres']));
    expect(report.unexpectedExits).toEqual([]);
  }, 300_000);
});
