import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { JsonObject } from '@ordo/protocol';
import { CoordinatorHttp } from '../coordinator-http';
import { ParticipantConfig } from '../participant.config';
import { DeliveryVerdict, verdictOf, verdictOfFailure } from './delivery-verdict';
import { retryDelayMs } from './retry-delay';
import { StartMetrics } from './start-metrics';

/** Starts claimed and delivered at once (in parallel) per round trip to the database. */
const BATCH = 50;
/** Bound on one delivery; the coordinator answers a start in milliseconds. */
const DELIVERY_TIMEOUT_MS = 10_000;
/** A claimed start is left to this instance that long; past it (the instance died mid-delivery) any instance takes it. */
const CLAIM_MS = 3 * DELIVERY_TIMEOUT_MS;
/** Delivered starts deleted per statement when pruning. */
const PRUNE_BATCH = 1_000;

interface ClaimedStart {
  id: string;
  idempotency_key: string;
  definition: string;
  version: number | null;
  input: JsonObject;
  traceparent: string | null;
  attempts: number;
}

/**
 * Delivers committed starts (rows of ordo_starts) to the coordinator with
 * `POST /api/v1/transactions`, the row's idempotency key making a repeated delivery return
 * the transaction the first one started. Woken right after a local transaction that wrote a
 * start commits, at startup (what a crash left), and every STARTS_SWEEP_INTERVAL_MS (what
 * an outage left, retries that came due). Several instances share the table: a start is
 * claimed with FOR UPDATE SKIP LOCKED for CLAIM_MS, and no transaction stays open while the
 * coordinator is asked.
 */
@Injectable()
export class StartRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OrdoStarts');
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;
  /** Set by every wake: the pass under way goes round once more, so no commit is missed. */
  private again = false;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: ParticipantConfig,
    private readonly metrics: StartMetrics,
    private readonly coordinator: CoordinatorHttp,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.coordinator.configured) {
      this.logger.warn('ORDO_COORDINATOR_URL is not set: transaction starts are recorded in ordo_starts but not delivered until it is');
    }
    this.wake();
    this.timer = setInterval(() => {
      this.wake();
      this.prune().catch((error: Error) => this.logger.warn(`pruning delivered starts failed: ${error.message}`));
    }, this.config.STARTS_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Lets the pass under way finish before the database connection closes. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pass;
  }

  /** Delivers every due start, now or right after the pass under way. */
  wake(): void {
    if (this.stopped || !this.coordinator.configured) return;
    this.again = true;
    this.pass ??= this.drain().finally(() => {
      this.pass = undefined;
      // Woken between the last round and here.
      if (this.again) this.wake();
    });
  }

  private async drain(): Promise<void> {
    while (this.again && !this.stopped) {
      this.again = false;
      try {
        if ((await this.deliverDue()) === BATCH) this.again = true;
      } catch (error) {
        // The database is away: the next sweep tries again.
        this.logger.warn(`delivering starts failed: ${(error as Error).message}`);
        return;
      }
    }
  }

  /** Claims a batch of due starts, delivers them, records each outcome; how many it claimed. */
  private async deliverDue(): Promise<number> {
    const [claimed] = await this.dataSource.query<[ClaimedStart[], number]>(
      `UPDATE ordo_starts SET attempts = attempts + 1, next_attempt_at = now() + $1 * interval '1 millisecond'
         WHERE id IN (
           SELECT id FROM ordo_starts
           WHERE status = 'pending' AND next_attempt_at <= now() AND created_at <= now() - $2 * interval '1 millisecond'
           ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING id, idempotency_key, definition, version, input, traceparent, attempts`,
      [CLAIM_MS, this.config.FAULT_STARTS_HOLD_MS, BATCH],
    );
    await Promise.all(claimed.map(async (start) => this.record(start, await this.deliver(start))));
    return claimed.length;
  }

  private async deliver(start: ClaimedStart): Promise<DeliveryVerdict> {
    const body = { definition: start.definition, version: start.version ?? undefined, input: start.input, idempotencyKey: start.idempotency_key };
    try {
      const answer = await this.coordinator.request('POST', '/transactions', {
        body,
        timeoutMs: DELIVERY_TIMEOUT_MS,
        headers: start.traceparent ? { traceparent: start.traceparent } : undefined,
      });
      return verdictOf(answer.status, answer.body);
    } catch (error) {
      return verdictOfFailure(error as Error);
    }
  }

  /** Only a start still pending is updated: a slower instance's late answer changes nothing. */
  private async record(start: ClaimedStart, verdict: DeliveryVerdict): Promise<void> {
    const fields = { startId: start.id, definition: start.definition, attempt: start.attempts };
    switch (verdict.kind) {
      case 'delivered':
        await this.dataSource.query(
          `UPDATE ordo_starts SET status = 'delivered', tx_id = $2, last_error = NULL, finished_at = now() WHERE id = $1 AND status = 'pending'`,
          [start.id, verdict.txId],
        );
        this.metrics.attempted('delivered');
        return;
      case 'rejected':
        await this.dataSource.query(
          `UPDATE ordo_starts SET status = 'rejected', last_error = $2, finished_at = now() WHERE id = $1 AND status = 'pending'`,
          [start.id, verdict.error],
        );
        this.metrics.attempted('rejected');
        this.logger.error({
          ...fields,
          error: verdict.error,
          msg: `the coordinator refused to start ${start.definition}; the start is marked rejected`,
        });
        return;
      case 'retry': {
        const delayMs = retryDelayMs(start.attempts);
        await this.dataSource.query(
          `UPDATE ordo_starts SET next_attempt_at = now() + $2 * interval '1 millisecond', last_error = $3 WHERE id = $1 AND status = 'pending'`,
          [start.id, delayMs, verdict.error],
        );
        this.metrics.attempted('retried');
        this.logger.warn({ ...fields, error: verdict.error, msg: `could not deliver a start of ${start.definition}; retrying in ${delayMs} ms` });
      }
    }
  }

  /** Deletes starts delivered more than STARTS_RETENTION_MS ago; rejected ones stay for someone to look at. */
  private async prune(): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM ordo_starts WHERE id IN (
         SELECT id FROM ordo_starts WHERE status = 'delivered' AND finished_at < now() - $1 * interval '1 millisecond' LIMIT $2)`,
      [this.config.STARTS_RETENTION_MS, PRUNE_BATCH],
    );
  }
}
