import { Injectable } from '@nestjs/common';
import { CoordinatorConfig } from '../config/coordinator.config';
import { AlertBody } from './alert';
import { signature, SIGNATURE_HEADER } from './signature';

/** What came of one POST: delivered on a 2xx answer. */
export interface SendResult {
  delivered: boolean;
  /** The receiver's HTTP status; null when it did not answer. */
  status: number | null;
  error: string | null;
}

/** POSTs signed alert bodies to webhooks. */
@Injectable()
export class WebhookSender {
  constructor(private readonly config: CoordinatorConfig) {}

  async send(url: string, secret: string, body: AlertBody): Promise<SendResult> {
    const json = JSON.stringify(body);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Ordo-Alerts/1',
          [SIGNATURE_HEADER]: signature(secret, json, Math.floor(Date.now() / 1000)),
        },
        body: json,
        // A redirect is an answer, not a delivery: following it would send the alert (and
        // its signature) wherever the receiver points.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.ALERT_TIMEOUT_MS),
      });
      await response.body?.cancel();
      return response.ok
        ? { delivered: true, status: response.status, error: null }
        : { delivered: false, status: response.status, error: `HTTP ${response.status}` };
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause;
      return { delivered: false, status: null, error: cause?.message ?? (error as Error).message };
    }
  }
}
