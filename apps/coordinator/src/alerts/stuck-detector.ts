import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CoordinatorConfig } from '../config/coordinator.config';
import { AlertMetrics } from './alert-metrics';
import { AlertRepository } from './alert.repository';
import { Ticker } from './ticker';

/** Most stuck transactions one scan alerts about; the next scan takes the rest. */
const SCAN_LIMIT = 1000;

/**
 * Alerts once about each transaction with no progress for ALERT_STUCK_AFTER_S. Every
 * instance ticks, but a lease in the database lets one scan per ALERT_STUCK_SCAN_MS across
 * all of them, so the cost does not grow with the instances.
 */
@Injectable()
export class StuckDetector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StuckDetector.name);
  private readonly ticker: Ticker;

  constructor(
    private readonly alerts: AlertRepository,
    private readonly metrics: AlertMetrics,
    private readonly config: CoordinatorConfig,
  ) {
    // Ticks faster than the lease, so a scan follows soon after the lease holder dies.
    this.ticker = new Ticker(() => this.scan(), Math.max(100, Math.floor(config.ALERT_STUCK_SCAN_MS / 4)));
  }

  onApplicationBootstrap() {
    this.ticker.start();
  }

  async onApplicationShutdown() {
    await this.ticker.stop();
  }

  private async scan(): Promise<void> {
    try {
      const found = await this.alerts.recordStuck(this.config.ALERT_STUCK_AFTER_S, this.config.ALERT_STUCK_SCAN_MS, SCAN_LIMIT);
      this.metrics.stuck(found);
      if (found > 0) this.logger.warn(`${found} transactions stuck for more than ${this.config.ALERT_STUCK_AFTER_S} s`);
    } catch (error) {
      this.logger.warn(`looking for stuck transactions failed, will retry: ${(error as Error).message}`);
    }
  }
}
