import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

export type DeliveryOutcome = 'delivered' | 'rejected' | 'retried';

/** Prometheus metrics of the outbox of starts: how its delivery attempts ended. */
@Injectable()
export class StartMetrics {
  private readonly attempts: Counter<'outcome'>;

  constructor(registry: Registry) {
    this.attempts = new Counter({
      name: 'ordo_participant_start_deliveries_total',
      help: 'Deliveries of transaction starts to the coordinator, by outcome: delivered, rejected (for good), retried',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }

  attempted(outcome: DeliveryOutcome): void {
    this.attempts.inc({ outcome });
  }
}
