import { BeforeApplicationShutdown, Injectable, OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'timers/promises';
import { AppConfig } from '../config/app-config';

/**
 * Whether the process is shutting down. It turns at the first shutdown hook, so readiness
 * answers 503 from then on; SHUTDOWN_DELAY_MS then gives load balancers time to notice
 * before the HTTP server stops accepting connections.
 */
@Injectable()
export class ShutdownState implements OnModuleDestroy, BeforeApplicationShutdown {
  private draining = false;

  constructor(private readonly config: AppConfig) {}

  get shuttingDown(): boolean {
    return this.draining;
  }

  onModuleDestroy() {
    this.draining = true;
  }

  async beforeApplicationShutdown() {
    if (this.config.SHUTDOWN_DELAY_MS > 0) await sleep(this.config.SHUTDOWN_DELAY_MS);
  }
}
