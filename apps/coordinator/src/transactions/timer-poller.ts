import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CoordinatorConfig } from '../config/coordinator.config';
import { TransactionEngine } from './transaction-engine';

/**
 * Fires due timers (attempt timeouts, retry backoffs, deadlines). Every instance polls; a
 * claim (FOR UPDATE SKIP LOCKED, then a lease) hands each due timer to one of them, and
 * the version check keeps a decision taken twice from being written twice.
 */
@Injectable()
export class TimerPoller implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TimerPoller.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly engine: TransactionEngine,
    private readonly config: CoordinatorConfig,
  ) {}

  onApplicationBootstrap() {
    this.timer = setInterval(() => {
      this.running ??= this.drain().finally(() => (this.running = undefined));
    }, this.config.TIMER_POLL_MS);
  }

  /** Stops after the current pass: what is still due stays claimable by other instances. */
  async onApplicationShutdown() {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async drain() {
    try {
      const limit = this.config.TIMER_BATCH_SIZE;
      while (!this.stopped && (await this.engine.fireDueTimers(limit)) === limit);
    } catch (error) {
      this.logger.warn(`firing timers failed, will retry: ${(error as Error).message}`);
    }
  }
}
