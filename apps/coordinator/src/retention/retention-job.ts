import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'timers/promises';
import { DataSource } from 'typeorm';
import { CoordinatorConfig } from '../config/coordinator.config';
import { maxAgeMs } from '../config/retention-max-age';

/**
 * Purges finished (completed / compensated) transactions older than RETENTION_MAX_AGE, with
 * their history and alerts, in batches of RETENTION_BATCH_SIZE; what operators did to them (the
 * `operator.*` events) moves to audit_log in the same statement, never purged. Bulk actions
 * that ended that long ago go too (their start is in audit_log), and so do alerts about no
 * transaction (a circuit opening, a dead letter) once delivered, with the summaries of what a
 * webhook's rate limit folded (their deliveries go with them). Each
 * batch is one short database transaction, and RETENTION_PAUSE_MS separates two, so live
 * work never waits long behind the purge. `failed` transactions are kept: they wait for an
 * operator.
 *
 * Every instance runs the job; a transaction-level advisory lock lets one purge at a time
 * (the others skip their turn), and SKIP LOCKED passes over rows being written.
 */
@Injectable()
export class RetentionJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RetentionJob.name);
  private readonly maxAgeMs: number | null;
  private readonly stopping = new AbortController();
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: CoordinatorConfig,
  ) {
    this.maxAgeMs = maxAgeMs(config.RETENTION_MAX_AGE);
  }

  onApplicationBootstrap() {
    if (this.maxAgeMs === null) return;
    this.timer = setInterval(() => {
      this.pass ??= this.purge().finally(() => (this.pass = undefined));
    }, this.config.RETENTION_INTERVAL_MS);
  }

  /** Stops before the rest shuts down: the batch under way commits, no other starts. */
  async beforeApplicationShutdown() {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.pass;
  }

  private async purge(): Promise<void> {
    const started = Date.now();
    let purged = 0;
    let batches = 0;
    try {
      while (!this.stopping.signal.aborted) {
        const deleted = await this.purgeBatch();
        if (deleted === null) break; // another instance is purging
        purged += deleted;
        batches++;
        if (deleted < this.config.RETENTION_BATCH_SIZE) break;
        await sleep(this.config.RETENTION_PAUSE_MS, undefined, { signal: this.stopping.signal });
      }
    } catch (error) {
      if (!this.stopping.signal.aborted) this.logger.warn(`purging finished transactions failed, will retry: ${(error as Error).message}`);
    }
    if (purged > 0) {
      this.logger.log(
        `purged ${purged} finished transactions older than ${this.config.RETENTION_MAX_AGE} in ${batches} batches, ${Date.now() - started} ms`,
      );
    }
  }

  /** Deletes one batch; null when another instance holds the purge lock. */
  private purgeBatch(): Promise<number | null> {
    return this.dataSource.transaction(async (manager) => {
      const [{ locked }]: { locked: boolean }[] = await manager.query(
        `SELECT pg_try_advisory_xact_lock(hashtext('ordo-retention:' || current_schema())) AS locked`,
      );
      if (!locked) return null;
      // The cutoff is the database's clock, the same for every instance. The partial index
      // transactions_finished serves the scan: it holds finished rows only.
      const [{ purged }]: { purged: number }[] = await manager.query(
        `WITH doomed AS (
           SELECT id FROM transactions
           WHERE finished_at < now() - $1::bigint * interval '1 millisecond'
           ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         audit AS (
           INSERT INTO audit_log (tx_id, definition_name, definition_version, type, step_id, actor, data, at)
           SELECT e.tx_id, t.definition_name, t.definition_version, e.type, e.step_id, e.actor, e.data, e.at
           FROM events e JOIN transactions t ON t.id = e.tx_id
           WHERE e.tx_id IN (SELECT id FROM doomed) AND e.type LIKE 'operator.%'),
         history AS (DELETE FROM events WHERE tx_id IN (SELECT id FROM doomed)),
         alerted AS (DELETE FROM alerts WHERE tx_id IN (SELECT id FROM doomed)),
         unattached AS (
           DELETE FROM alerts WHERE id IN (
             SELECT id FROM alerts WHERE tx_id IS NULL AND fanned_out AND at < now() - $1::bigint * interval '1 millisecond' LIMIT $2)),
         summaries AS (DELETE FROM alert_deliveries WHERE alert_id IS NULL AND finished_at < now() - $1::bigint * interval '1 millisecond'),
         runs AS (DELETE FROM bulk_actions WHERE finished_at < now() - $1::bigint * interval '1 millisecond'),
         gone AS (DELETE FROM transactions WHERE id IN (SELECT id FROM doomed) RETURNING 1)
         SELECT count(*)::int AS purged FROM gone`,
        [this.maxAgeMs, this.config.RETENTION_BATCH_SIZE],
      );
      return purged;
    });
  }
}
