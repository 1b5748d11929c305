import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CoordinatorConfig } from '../config/coordinator.config';
import { AlertMetrics } from './alert-metrics';
import { AlertRepository } from './alert.repository';

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
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly alerts: AlertRepository,
    private readonly metrics: AlertMetrics,
    private readonly config: CoordinatorConfig,
  ) {}

  onApplicationBootstrap() {
    // Ticks faster than the lease, so a scan follows soon after the lease holder dies.
    const tick = Math.max(100, Math.floor(this.config.ALERT_STUCK_SCAN_MS / 4));
    this.timer = setInterval(() => {
      this.running ??= this.scan().finally(() => (this.running = undefined));
    }, tick);
  }

  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.running;
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
