import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CoordinatorConfig } from '../config/coordinator.config';
import { endTimings } from './end-timings';
import { BUCKETS_PER_WINDOW, rollupOf } from './timing-rollup';
import { TimingRollupRepository } from './timing-rollup.repository';

/** Rows are kept for twice what a window reads of their width: 48 minutes, 8 hours, 2 days. */
const BUCKETS_KEPT = 2 * BUCKETS_PER_WINDOW;
const PRUNE_EVERY_MS = 600_000;
/** Passes the oldest end may fail, one at a time, before it is set aside: a passing fault (a lost connection) heals sooner. */
export const FAILURES_BEFORE_SET_ASIDE = 5;

/**
 * Adds the transactions that ended to the timing rollup, asynchronously, so that a decision
 * pays for it only with the row of `ended_transactions` its end writes. Every ROLLUP_INTERVAL_MS
 * each instance looks for ends (one cheap statement); one instance at a time (an advisory lock)
 * takes a batch, reads those transactions' histories, and adds their timings to the rows of
 * their minute, ten minutes and hour, in one database transaction: an end is counted exactly once, even if
 * the instance dies half-way. Rows no window reads any more are pruned.
 *
 * One end the rollup cannot take must not stop it: after a batch fails, its ends are added one
 * at a time, and an end that keeps failing on its own is set aside (dropped from the queue,
 * logged as an error with its transaction) so that the ones after it are counted.
 */
@Injectable()
export class TimingRollupJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TimingRollupJob.name);
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;
  private stopping = false;
  private prunedAt = 0;
  /** Ends still to add one at a time after a batch failed (to find the one that fails). */
  private isolating = 0;
  /** Failures in a row of the oldest end, added on its own. */
  private headFailures = 0;

  constructor(
    private readonly repository: TimingRollupRepository,
    private readonly config: CoordinatorConfig,
  ) {}

  onApplicationBootstrap() {
    this.timer = setInterval(() => {
      this.pass ??= this.roll().finally(() => (this.pass = undefined));
    }, this.config.ROLLUP_INTERVAL_MS);
  }

  async beforeApplicationShutdown() {
    clearInterval(this.timer);
    this.stopping = true;
    await this.pass;
  }

  /** Adds every end waiting, batch by batch (one pass; the timer runs one at a time). */
  async roll(): Promise<void> {
    try {
      if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) await this.prune();
      while (!this.stopping && (await this.repository.anyEnded())) {
        const size = this.isolating > 0 ? 1 : this.config.ROLLUP_BATCH_SIZE;
        const added = await this.repository.locked(async (manager) => {
          const ended = await this.repository.takeEnded(manager, size);
          const ends = ended.map((e) => ({ definitionName: e.definitionName, timings: endTimings(e.history, e.endIndex) }));
          await this.repository.add(manager, rollupOf(ends));
          return ended.length;
        });
        if (added === null) break; // another instance is at it
        if (this.isolating > 0) [this.isolating, this.headFailures] = [this.isolating - 1, 0];
        if (added < size) break; // all done
      }
    } catch (error) {
      if (!this.stopping) await this.failed(error as Error);
    }
  }

  /** A batch failed: isolate its ends; the oldest one failed on its own too often: set it aside. */
  private async failed(error: Error): Promise<void> {
    if (this.isolating === 0) {
      this.isolating = this.config.ROLLUP_BATCH_SIZE;
      this.logger.warn(`adding ended transactions to the timing rollup failed, will add them one at a time: ${error.message}`);
      return;
    }
    if (++this.headFailures < FAILURES_BEFORE_SET_ASIDE) {
      this.logger.warn(`adding the oldest ended transaction to the timing rollup failed, will retry: ${error.message}`);
      return;
    }
    try {
      const txId = await this.repository.setAsideOldest();
      [this.isolating, this.headFailures] = [this.isolating - 1, 0];
      this.logger.error(`timing rollup: set aside the end of transaction ${txId} after ${FAILURES_BEFORE_SET_ASIDE} failures: ${error.message}`);
    } catch (setAside) {
      this.logger.warn(`setting aside an end the timing rollup cannot take failed, will retry: ${(setAside as Error).message}`);
    }
  }

  private async prune() {
    if ((await this.repository.locked((manager) => this.repository.prune(manager, BUCKETS_KEPT))) !== null) this.prunedAt = Date.now();
  }
}
