import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CoordinatorConfig } from '../config/coordinator.config';
import { AlertBody, alertBody, summaryBody } from './alert';
import { AlertMetrics } from './alert-metrics';
import { AlertRepository, ClaimedDelivery } from './alert.repository';
import { afterAttempt, DeliveryOutcome, DeliveryPolicy } from './delivery-policy';
import { nextWindowStart } from './rate-window';
import { Ticker } from './ticker';
import { WebhookSender } from './webhook-sender';

/** Most alerts fanned out, and most deliveries claimed, per pass. */
const BATCH = 100;
/** Alerts a summary names as examples. */
const SUMMARY_EXAMPLES = 10;

/**
 * Delivers alerts. Every instance polls: it turns new alerts into deliveries (one per
 * subscribed webhook), claims due deliveries (FOR UPDATE SKIP LOCKED, then a lease, so each
 * goes to one instance at a time), takes places in each webhook's rate limit and folds the
 * rest into a summary, sends what it may, and records each outcome: sent, retried after
 * an exponential backoff, or given up after ALERT_MAX_ATTEMPTS.
 */
@Injectable()
export class AlertDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AlertDispatcher.name);
  private readonly policy: DeliveryPolicy;
  private readonly publicUrl: string;
  private readonly ticker: Ticker;

  constructor(
    private readonly alerts: AlertRepository,
    private readonly sender: WebhookSender,
    private readonly metrics: AlertMetrics,
    private readonly config: CoordinatorConfig,
  ) {
    this.policy = {
      maxAttempts: config.ALERT_MAX_ATTEMPTS,
      backoff: { initialDelayMs: config.ALERT_RETRY_INITIAL_MS, multiplier: 2, maxDelayMs: config.ALERT_RETRY_MAX_MS, jitter: 'equal' },
    };
    this.publicUrl = config.ORDO_PUBLIC_URL ?? '';
    this.ticker = new Ticker(() => this.pass(), config.ALERT_POLL_MS);
  }

  onApplicationBootstrap() {
    this.ticker.start();
  }

  /** Stops after the pass under way: what is still due stays claimable by other instances. */
  async onApplicationShutdown() {
    await this.ticker.stop();
  }

  private async pass(): Promise<void> {
    try {
      await this.alerts.fanOut(BATCH);
      // Every attempt of a batch may take the whole timeout; past the lease, another instance may try it too.
      const { deliveries, now } = await this.alerts.claimDue(BATCH, this.config.ALERT_TIMEOUT_MS + 30_000);
      const byWebhook = new Map<string, ClaimedDelivery[]>();
      for (const d of deliveries) byWebhook.set(d.webhookId, [...(byWebhook.get(d.webhookId) ?? []), d]);
      await Promise.all([...byWebhook].map(([webhookId, batch]) => this.deliver(webhookId, batch, now)));
    } catch (error) {
      this.logger.warn(`delivering alerts failed, will retry: ${(error as Error).message}`);
    }
  }

  /** One webhook's claimed deliveries: summaries always go (at most one a minute); alerts within the rate limit. */
  private async deliver(webhookId: string, batch: ClaimedDelivery[], now: number): Promise<void> {
    const summaries = batch.filter((d) => d.alert === null);
    const alerts = batch.filter((d) => d.alert !== null);
    const granted = alerts.length === 0 ? 0 : await this.alerts.reserve(webhookId, alerts.length, batch[0].perMinute, now);
    const folded = alerts.slice(granted);
    if (folded.length > 0) {
      await this.alerts.fold(
        webhookId,
        folded.map((d) => d.id),
        new Date(nextWindowStart(now)),
      );
      for (const d of folded) this.metrics.dropped(d.alert!.kind);
    }
    await Promise.all([...summaries.map((d) => this.summarize(d, now)), ...alerts.slice(0, granted).map((d) => this.attempt(d))]);
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const body = alertBody(delivery.alert!, this.publicUrl);
    const outcome = await this.send(delivery, body);
    await this.alerts.settle(delivery.id, outcome.outcome, outcome.error);
  }

  /** A summary of what was folded until now; nothing is sent when a summary already covered it all. */
  private async summarize(delivery: ClaimedDelivery, now: number): Promise<void> {
    const { ids, folded } = await this.alerts.unsummarized(delivery.webhookId, SUMMARY_EXAMPLES);
    const next = new Date(nextWindowStart(now));
    if (ids.length === 0) return this.alerts.settleSummary(delivery.id, delivery.webhookId, { state: 'sent' }, null, ids, next);
    const { outcome, error } = await this.send(delivery, summaryBody(delivery.id, folded, new Date(now), this.publicUrl));
    await this.alerts.settleSummary(delivery.id, delivery.webhookId, outcome, error, ids, next);
  }

  /** One attempt, counted; what becomes of the delivery after it. */
  private async send(delivery: ClaimedDelivery, body: AlertBody): Promise<{ outcome: DeliveryOutcome; error: string | null }> {
    const result = await this.sender.send(delivery.url, delivery.secret, body);
    const outcome = afterAttempt(this.policy, delivery.attempts + 1, result.delivered, Math.random);
    if (outcome.state === 'sent') this.metrics.sent(body.kind);
    if (outcome.state === 'dead') {
      this.metrics.failed(body.kind);
      this.logger.warn(`gave up alert ${body.id} to webhook ${delivery.webhookId} after ${this.policy.maxAttempts} attempts: ${result.error}`);
    }
    return { outcome, error: result.error };
  }
}
