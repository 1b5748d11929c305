import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AlertKind } from './alert';

/** A webhook as shown: never its secret. */
export interface Webhook {
  id: string;
  url: string;
  kinds: AlertKind[];
  /** Alerts it gets per minute at most; the rest are folded into a summary. */
  perMinute: number;
  createdBy: string;
  createdAt: Date;
}

/** What an admin gives to add a webhook. */
export type NewWebhook = Pick<Webhook, 'url' | 'kinds' | 'perMinute'> & { secret: string };

const COLUMNS = 'id, url, kinds, per_minute AS "perMinute", created_by AS "createdBy", created_at AS "createdAt"';

/**
 * Where alerts go. Every change is written to audit_log with its actor in the same
 * database transaction; the audit names the URL's origin only, since a webhook's path often
 * is a credential itself (chat webhooks).
 */
@Injectable()
export class WebhookRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(webhook: NewWebhook, actor: string): Promise<Webhook> {
    return this.dataSource.transaction(async (manager) => {
      const [created]: Webhook[] = await manager.query(
        `INSERT INTO alert_webhooks (id, url, secret, kinds, per_minute, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [randomUUID(), webhook.url, webhook.secret, webhook.kinds, webhook.perMinute, actor],
      );
      await this.audit(manager, 'alerts.webhook_created', actor, created);
      return created;
    });
  }

  async list(): Promise<Webhook[]> {
    return this.dataSource.query(`SELECT ${COLUMNS} FROM alert_webhooks ORDER BY created_at, id`);
  }

  /** The webhook with its secret, to sign a test; null when there is none. */
  async withSecret(id: string): Promise<(Webhook & { secret: string }) | null> {
    const [row]: (Webhook & { secret: string })[] = await this.dataSource.query(`SELECT ${COLUMNS}, secret FROM alert_webhooks WHERE id = $1`, [id]);
    return row ?? null;
  }

  /** Deletes the webhook with its pending deliveries; false when there was none. */
  async delete(id: string, actor: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const [rows]: [Webhook[], number] = await manager.query(`DELETE FROM alert_webhooks WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
      if (rows.length === 0) return false;
      await this.audit(manager, 'alerts.webhook_deleted', actor, rows[0]);
      return true;
    });
  }

  /** Records that `actor` sent a test alert to the webhook, and what came of it. */
  async tested(webhook: Webhook, actor: string, result: { delivered: boolean; status: number | null }): Promise<void> {
    await this.audit(this.dataSource.manager, 'alerts.webhook_tested', actor, webhook, result);
  }

  private async audit(manager: EntityManager, type: string, actor: string, webhook: Webhook, extra: object = {}): Promise<void> {
    await manager.query('INSERT INTO audit_log (type, actor, data, at) VALUES ($1, $2, $3, now())', [
      type,
      actor,
      JSON.stringify({ webhookId: webhook.id, origin: new URL(webhook.url).origin, kinds: webhook.kinds, perMinute: webhook.perMinute, ...extra }),
    ]);
  }
}
