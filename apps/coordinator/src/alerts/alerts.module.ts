import { Module } from '@nestjs/common';
import { AlertDispatcher } from './alert-dispatcher';
import { AlertMetrics } from './alert-metrics';
import { AlertRecorder } from './alert-recorder';
import { AlertRepository } from './alert.repository';
import { StuckDetector } from './stuck-detector';
import { WebhookRepository } from './webhook.repository';
import { WebhookSender } from './webhook-sender';
import { WebhooksController } from './webhooks.controller';

/** Alerts to webhooks: recorded with their events, delivered signed, retried and rate-limited (docs/operations.md#alerts). */
@Module({
  controllers: [WebhooksController],
  providers: [AlertRepository, AlertRecorder, AlertMetrics, AlertDispatcher, StuckDetector, WebhookRepository, WebhookSender],
  exports: [AlertRecorder],
})
export class AlertsModule {}
