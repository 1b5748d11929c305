import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { AlertBody } from './alert';

type Kind = AlertBody['kind'];

/** Counters of alert deliveries by kind, and of stuck transactions found (docs/operations.md#metrics). */
@Injectable()
export class AlertMetrics {
  private readonly sentTotal: Counter<'kind'>;
  private readonly failedTotal: Counter<'kind'>;
  private readonly droppedTotal: Counter<'kind'>;
  private readonly stuckTotal: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sentTotal = new Counter({ name: 'ordo_alerts_sent_total', help: 'Alerts a webhook took (2xx), by kind', labelNames: ['kind'], registers });
    this.failedTotal = new Counter({
      name: 'ordo_alerts_failed_total',
      help: 'Alert deliveries given up after ALERT_MAX_ATTEMPTS failed attempts, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.droppedTotal = new Counter({
      name: 'ordo_alerts_dropped_total',
      help: "Alerts past a webhook's rate limit, folded into a summary instead of sent, by kind",
      labelNames: ['kind'],
      registers,
    });
    this.stuckTotal = new Counter({
      name: 'ordo_transactions_stuck_total',
      help: 'Transactions found with no progress for ALERT_STUCK_AFTER_S (each once), by the instance that scanned',
      registers,
    });
  }

  sent(kind: Kind): void {
    this.sentTotal.inc({ kind });
  }

  failed(kind: Kind): void {
    this.failedTotal.inc({ kind });
  }

  dropped(kind: Kind): void {
    this.droppedTotal.inc({ kind });
  }

  stuck(count: number): void {
    this.stuckTotal.inc(count);
  }
}
