import { Logger } from '@nestjs/common';
import { TimedEvent } from '../engine';
import { CoordinatorConfig } from '../config/coordinator.config';
import { FAILURES_BEFORE_SET_ASIDE, TimingRollupJob } from './timing-rollup-job';
import { RollupRow } from './timing-rollup';
import { EndedTransaction, TimingRollupRepository } from './timing-rollup.repository';

const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const history: TimedEvent[] = [
  { at: T0, event: { type: 'transaction.started', deadline: null, actor: 'tester' } },
  { at: T0 + 5, event: { type: 'transaction.status_changed', from: 'running', to: 'completed' } },
];

/**
 * The queue of ends and the rollup in memory, with the database's all-or-nothing: a batch that
 * throws leaves its ends in the queue. `add` refuses the rows of any definition in `refused`.
 */
class FakeRollup {
  queue: string[] = [];
  readonly added: string[] = [];
  readonly setAside: string[] = [];
  readonly refused = new Set<string>();

  readonly repository = {
    anyEnded: async () => this.queue.length > 0,
    locked: async <T>(work: (manager: string[]) => Promise<T>): Promise<T> => {
      const taken: string[] = [];
      try {
        return await work(taken);
      } catch (error) {
        this.queue.unshift(...taken);
        throw error;
      }
    },
    takeEnded: async (taken: string[], limit: number): Promise<EndedTransaction[]> => {
      taken.push(...this.queue.splice(0, limit));
      return taken.map((definitionName) => ({ definitionName, history, endIndex: 1 }));
    },
    add: async (_: string[], rows: readonly RollupRow[]) => {
      const names = [...new Set(rows.map((row) => row.definitionName))];
      const refused = names.find((name) => this.refused.has(name));
      if (refused) throw new Error(`cannot add ${refused}`);
      this.added.push(...names);
    },
    setAsideOldest: async () => {
      const oldest = this.queue.shift() ?? null;
      if (oldest) this.setAside.push(oldest);
      return oldest;
    },
    prune: async () => 0,
  };
}

describe('TimingRollupJob', () => {
  const config = { ROLLUP_BATCH_SIZE: 10, ROLLUP_INTERVAL_MS: 2000 } as CoordinatorConfig;
  let rollup: FakeRollup;
  let job: TimingRollupJob;
  let errors: jest.SpyInstance;
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    rollup = new FakeRollup();
    job = new TimingRollupJob(rollup.repository as unknown as TimingRollupRepository, config);
  });
  afterEach(() => jest.restoreAllMocks());

  const passes = async (n: number) => {
    for (let i = 0; i < n; i++) await job.roll();
  };

  it('adds every end waiting in batches', async () => {
    rollup.queue = Array.from({ length: 25 }, (_, i) => `def-${i}`);
    await passes(1);
    expect(rollup.added).toEqual(Array.from({ length: 25 }, (_, i) => `def-${i}`));
  });

  it('sets aside an end that keeps failing on its own, and counts the ones before and after it', async () => {
    rollup.queue = ['a', 'b', 'poison', 'c', 'd'];
    rollup.refused.add('poison');
    // The batch fails; then one at a time: a and b go in, the poison fails on its own until set aside.
    await passes(1 + FAILURES_BEFORE_SET_ASIDE);
    expect(rollup.setAside).toEqual(['poison']);
    expect(rollup.added).toEqual(['a', 'b']);
    await passes(1);
    expect(rollup.added).toEqual(['a', 'b', 'c', 'd']);
    expect(rollup.queue).toEqual([]);
    expect(errors.mock.calls).toEqual([[expect.stringContaining('set aside the end of transaction poison')]]);
  });

  it('sets nothing aside for a fault that passes', async () => {
    rollup.queue = ['a', 'b', 'c'];
    rollup.refused.add('b');
    await passes(FAILURES_BEFORE_SET_ASIDE - 1);
    rollup.refused.clear();
    await passes(1);
    expect(rollup.setAside).toEqual([]);
    expect(rollup.added).toEqual(['a', 'b', 'c']);
  });

  it('goes back to whole batches once the ends of the failed batch are through', async () => {
    rollup.queue = ['poison', ...Array.from({ length: 30 }, (_, i) => `def-${i}`)];
    rollup.refused.add('poison');
    await passes(1 + FAILURES_BEFORE_SET_ASIDE);
    const takes = jest.spyOn(rollup.repository, 'takeEnded');
    await passes(1);
    // Nine more of the failed batch one at a time, then batches of ten.
    expect(takes.mock.calls.map(([, limit]) => limit)).toEqual([...Array(9).fill(1), 10, 10, 10]);
    expect(rollup.added).toHaveLength(30);
  });
});
