import { BeforeApplicationShutdown, Injectable, OnModuleDestroy } from '@nestjs/common';
import { FastifyInstance } from 'fastify';
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

  /**
   * Once stopping, every response closes its connection, those of requests already under way
   * included (a long poll answered at shutdown). The HTTP server's close waits for its
   * connections to end, and a client that keeps sending on a keep-alive one (any busy HTTP
   * client) would hold it — and the process — open for ever.
   */
  closeConnections(server: FastifyInstance): void {
    server.addHook('onSend', (_request, reply, payload, done) => {
      if (this.draining) void reply.header('connection', 'close');
      done(null, payload);
    });
  }

  onModuleDestroy() {
    this.draining = true;
  }

  async beforeApplicationShutdown() {
    if (this.config.SHUTDOWN_DELAY_MS > 0) await sleep(this.config.SHUTDOWN_DELAY_MS);
  }
}
