import { HttpStatus, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { ApiError } from '@ordo/platform';
import { JsonObject } from '@ordo/protocol';
import { Ticker } from '../../alerts/ticker';
import { CoordinatorConfig } from '../../config/coordinator.config';
import { checkInputSize } from '../input-limit';
import { Cursor, TransactionRepository } from '../persistence/transaction.repository';
import { TransactionsService } from '../transactions.service';
import { BulkActionRequest } from './bulk-action.dto';
import { BulkActionRepository, BulkRun, filterOf } from './bulk-action.repository';
import { BulkParams, eventOf, missingParams, scopeOf } from './bulk-actions';

/** Transactions taken per batch: each batch records its progress. */
const BATCH = 100;
/** How long a run is an instance's before another may take it over (each batch renews it). */
const LEASE_MS = 30_000;
/** How often each instance looks for a run to take. */
const POLL_MS = 1_000;

/**
 * Bulk actions: an operator action applied to every transaction matching a filter, oldest
 * first, in batches of BATCH. A run is a row of `bulk_actions`; any instance takes a run no
 * one holds (a lease, renewed by every batch) and goes on from where it stands, so a run
 * outlives the instance that started it. Each transaction gets the action through
 * TransactionsService.applyToEach: one the action no longer applies to (it changed) is gone
 * through but not counted as applied. A batch cut short by a crash is gone through again.
 */
@Injectable()
export class BulkActionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BulkActionService.name);
  private readonly ticker = new Ticker(() => this.runNext(), POLL_MS);
  private stopped = false;

  constructor(
    private readonly runs: BulkActionRepository,
    private readonly repository: TransactionRepository,
    private readonly transactions: TransactionsService,
    private readonly config: CoordinatorConfig,
  ) {}

  onApplicationBootstrap() {
    this.ticker.start();
  }

  /** Stops after the batch under way, and gives its run back: another instance goes on with it. */
  async onApplicationShutdown() {
    this.stopped = true;
    await this.ticker.stop();
  }

  /** How many transactions the action would go through, or (not a dry run) the run started. */
  async start(request: BulkActionRequest, actor: string): Promise<{ matched: number } | BulkRun> {
    const { action, stepId, attemptsLeft, output, note, limit, dryRun, ...filter } = request;
    const params: BulkParams = { stepId, attemptsLeft, output, note };
    const problems = missingParams(action, params);
    if (problems.length > 0) {
      throw new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
    }
    if (output) checkInputSize(output, this.config.MAX_INPUT_BYTES);
    const scope = scopeOf(action, filter);
    const matched = await this.repository.countMatching(scope, limit);
    if (dryRun) return { matched };
    const stored = (value: object) => JSON.parse(JSON.stringify(value)) as JsonObject;
    return this.runs.insert({ id: randomUUID(), action, params: stored(params), filter: stored(scope), maxCount: limit, actor, matched });
  }

  async get(id: string): Promise<BulkRun> {
    const run = await this.runs.get(id);
    if (!run) throw new ApiError(HttpStatus.NOT_FOUND, 'BULK_ACTION_NOT_FOUND', `no bulk action ${id}`);
    return run;
  }

  latest(limit: number): Promise<BulkRun[]> {
    return this.runs.latest(limit);
  }

  /** Takes a run no instance holds, if any, and goes through it batch by batch to its end. */
  private async runNext(): Promise<void> {
    try {
      const run = await this.runs.claim(LEASE_MS);
      if (!run) return;
      const filter = filterOf(run.filter);
      const event = eventOf(run.action, run.params, run.actor);
      let { processed, after } = run;
      while (!this.stopped) {
        const size = Math.min(BATCH, run.maxCount - processed);
        const page: Cursor[] = size > 0 ? await this.repository.oldestMatching(filter, size, after ?? undefined) : [];
        const applied = await this.transactions.applyToEach(
          page.map((p) => p.id),
          event,
        );
        processed += page.length;
        after = page.at(-1) ?? after;
        const done = page.length < size || processed >= run.maxCount;
        await this.runs.progress(run.id, { processed: page.length, applied, after: page.at(-1) ?? null, done }, LEASE_MS);
        if (done) return;
      }
      await this.runs.release(run.id);
    } catch (error) {
      this.logger.warn(`a bulk action failed a batch, will go on after its lease: ${(error as Error).message}`);
    }
  }
}
