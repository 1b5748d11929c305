import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AlertKind, AlertRecord, Folded, NewAlert } from './alert';
import { DeliveryOutcome } from './delivery-policy';
import { reserve } from './rate-window';

/** A delivery claimed for an attempt: where it goes, and its alert (null for a summary of folded alerts). */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  url: string;
  secret: string;
  /** The webhook's rate limit. */
  perMinute: number;
  /** Attempts made before this one. */
  attempts: number;
  alert: AlertRecord | null;
}

interface ClaimedRow {
  id: string;
  webhook_id: string;
  url: string;
  secret: string;
  per_minute: number;
  attempts: number;
  alert_id: string | null;
  kind: AlertKind | null;
  tx_id: string | null;
  participant: string | null;
  definition_name: string | null;
  data: AlertRecord['data'] | null;
  at: Date | null;
  now: Date;
}

/** `$n` milliseconds, as an interval. */
const ms = (param: number) => `$${param}::int * interval '1 millisecond'`;

/** All SQL about alerts and their deliveries (docs/operations.md#alerts). */
@Injectable()
export class AlertRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Records an alert, unless one with its dedupe key exists. */
  async record(alert: NewAlert): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO alerts (kind, tx_id, participant, definition_name, data, dedupe_key) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
      [alert.kind, alert.txId, alert.participant, alert.definition, JSON.stringify(alert.data), alert.dedupeKey],
    );
  }

  /**
   * Records a `stuck` alert for up to `limit` running or compensating transactions without
   * progress for `afterSeconds` (not the paused ones: they wait on purpose), once per
   * transaction (its dedupe key), and returns how many.
   * Runs only for the instance that takes the scan's lease (`leaseMs`): the others find it
   * taken and read nothing. The scan reads live transactions only (the index on status),
   * never the finished ones, and each one's earlier alert by the unique index on dedupe_key.
   */
  async recordStuck(afterSeconds: number, leaseMs: number, limit: number): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH lease AS (
         UPDATE alert_scans SET next_run_at = now() + ${ms(3)} WHERE name = 'stuck' AND next_run_at <= now() RETURNING name)
       INSERT INTO alerts (kind, tx_id, definition_name, data, dedupe_key)
       SELECT 'stuck', t.id, t.definition_name, jsonb_build_object('definitionVersion', t.definition_version, 'type', t.type,
           'status', t.status, 'lastProgressAt', t.updated_at), 'stuck:' || t.id
       FROM transactions t
       WHERE EXISTS (SELECT FROM lease) AND t.status IN ('running', 'compensating') AND t.paused IS NULL
         AND t.updated_at < now() - $1::int * interval '1 second'
         AND NOT EXISTS (SELECT FROM alerts a WHERE a.dedupe_key = 'stuck:' || t.id)
       ORDER BY t.updated_at LIMIT $2
       ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [afterSeconds, limit, leaseMs],
    );
    return rows.length;
  }

  /**
   * Turns up to `limit` new alerts into deliveries, one per webhook subscribed to the kind
   * (webhooks added later do not get earlier alerts). Locked rows are another instance's.
   */
  async fanOut(limit: number): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH claimed AS (SELECT id, kind FROM alerts WHERE NOT fanned_out ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
       fanned AS (INSERT INTO alert_deliveries (alert_id, webhook_id)
         SELECT c.id, w.id FROM claimed c JOIN alert_webhooks w ON c.kind = ANY (w.kinds))
       UPDATE alerts SET fanned_out = true WHERE id IN (SELECT id FROM claimed) RETURNING id`,
      [limit],
    );
    return rows.length;
  }

  /**
   * Takes up to `limit` due deliveries, oldest first, pushing them `leaseMs` later so other
   * instances pass them by (as timers are claimed); an instance that dies mid-attempt leaves
   * them due again after the lease. Returns them with the database's time.
   */
  async claimDue(limit: number, leaseMs: number): Promise<{ deliveries: ClaimedDelivery[]; now: number }> {
    const rows: ClaimedRow[] = await this.dataSource.query(
      `WITH claimed AS (
         UPDATE alert_deliveries d SET due_at = now() + ${ms(2)}
         WHERE id IN (SELECT id FROM alert_deliveries WHERE state = 'pending' AND due_at <= now()
           ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING d.id, d.alert_id, d.webhook_id, d.attempts)
       SELECT c.id::text, c.webhook_id, w.url, w.secret, w.per_minute, c.attempts, a.id::text AS alert_id, a.kind, a.tx_id, a.participant,
         a.definition_name, a.data, a.at, now() AS now
       FROM claimed c JOIN alert_webhooks w ON w.id = c.webhook_id LEFT JOIN alerts a ON a.id = c.alert_id
       ORDER BY c.id`,
      [limit, leaseMs],
    );
    const deliveries = rows.map((r) => ({
      id: r.id,
      webhookId: r.webhook_id,
      url: r.url,
      secret: r.secret,
      perMinute: r.per_minute,
      attempts: r.attempts,
      alert:
        r.alert_id === null
          ? null
          : { id: r.alert_id, kind: r.kind!, txId: r.tx_id, participant: r.participant, definition: r.definition_name, data: r.data!, at: r.at! },
    }));
    return { deliveries, now: rows.length > 0 ? rows[0].now.getTime() : Date.now() };
  }

  /**
   * Takes up to `wanted` of the webhook's places in the minute of `now` (all instances
   * share them: the webhook's row is locked while they are counted) and returns how many.
   */
  async reserve(webhookId: string, wanted: number, perMinute: number, now: number): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const [row]: { window_start: Date; window_sent: number }[] = await manager.query(
        'SELECT window_start, window_sent FROM alert_webhooks WHERE id = $1 FOR UPDATE',
        [webhookId],
      );
      if (!row) return 0;
      const taken = reserve({ start: row.window_start.getTime(), sent: row.window_sent }, now, wanted, perMinute);
      await manager.query('UPDATE alert_webhooks SET window_start = $2, window_sent = $3 WHERE id = $1', [
        webhookId,
        new Date(taken.window.start),
        taken.window.sent,
      ]);
      return taken.granted;
    });
  }

  /**
   * Folds deliveries past the rate limit: they wait for the webhook's next summary, made
   * (due at `summaryAt`) unless one is pending.
   */
  async fold(webhookId: string, deliveryIds: readonly string[], summaryAt: Date): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query(`UPDATE alert_deliveries SET state = 'folded', finished_at = now() WHERE id = ANY ($1::bigint[])`, [deliveryIds]);
      await manager.query(
        `INSERT INTO alert_deliveries (webhook_id, due_at) VALUES ($1, $2)
         ON CONFLICT (webhook_id) WHERE alert_id IS NULL AND state = 'pending' DO NOTHING`,
        [webhookId, summaryAt],
      );
    });
  }

  /** The webhook's folded deliveries no summary covered yet: their ids, and by kind with the first few. */
  async unsummarized(webhookId: string, examples: number): Promise<{ ids: string[]; folded: Folded }> {
    const rows: { kind: AlertKind; ids: string[]; examples: Folded['examples'] }[] = await this.dataSource.query(
      `SELECT a.kind, array_agg(d.id::text ORDER BY d.id) AS ids,
         (array_agg(jsonb_build_object('kind', a.kind, 'transactionId', a.tx_id, 'participant', a.participant) ORDER BY d.id))[1:$2] AS examples
       FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
       WHERE d.webhook_id = $1 AND d.state = 'folded' AND d.summary_id IS NULL GROUP BY a.kind ORDER BY a.kind`,
      [webhookId, examples],
    );
    return {
      ids: rows.flatMap((r) => r.ids),
      folded: { counts: Object.fromEntries(rows.map((r) => [r.kind, r.ids.length])), examples: rows.flatMap((r) => r.examples).slice(0, examples) },
    };
  }

  /**
   * Records a summary's outcome. Once it was sent (or given up), the folded deliveries it
   * counted are covered; those folded meanwhile get the next summary, due at `nextAt`.
   */
  async settleSummary(
    summaryId: string,
    webhookId: string,
    outcome: DeliveryOutcome,
    error: string | null,
    covered: readonly string[],
    nextAt: Date,
  ) {
    await this.dataSource.transaction(async (manager) => {
      await this.settle(summaryId, outcome, error, manager);
      if (outcome.state === 'pending') return;
      await manager.query('UPDATE alert_deliveries SET summary_id = $1 WHERE id = ANY ($2::bigint[])', [summaryId, covered]);
      await manager.query(
        `INSERT INTO alert_deliveries (webhook_id, due_at)
         SELECT $1, $2 WHERE EXISTS (SELECT FROM alert_deliveries WHERE webhook_id = $1 AND state = 'folded' AND summary_id IS NULL)
         ON CONFLICT (webhook_id) WHERE alert_id IS NULL AND state = 'pending' DO NOTHING`,
        [webhookId, nextAt],
      );
    });
  }

  /** Records an attempt's outcome: sent, to try again after a wait, or given up. */
  async settle(deliveryId: string, outcome: DeliveryOutcome, error: string | null, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.query(
      `UPDATE alert_deliveries SET state = $2, attempts = attempts + 1, last_error = $4,
         due_at = CASE WHEN $3::int IS NULL THEN due_at ELSE now() + ${ms(3)} END,
         finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
       WHERE id = $1`,
      [deliveryId, outcome.state, outcome.state === 'pending' ? outcome.retryInMs : null, error],
    );
  }
}
