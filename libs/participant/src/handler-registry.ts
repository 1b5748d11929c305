import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Phase } from '@ordo/protocol';
import { COMMAND_HANDLER, CommandHandler, HandlerRoute } from './handler.decorators';

/** Finds the @Execute / @Compensate / … methods of the app's providers at start. */
@Injectable()
export class HandlerRegistry implements OnModuleInit {
  private readonly logger = new Logger(HandlerRegistry.name);
  private readonly handlers = new Map<string, CommandHandler>();
  /** Actions whose prepare runs in a PostgreSQL prepared transaction. */
  private readonly prepared = new Set<string>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit() {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      for (const method of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance) as object | null)) {
        const routes = this.reflector.get<HandlerRoute[] | undefined>(COMMAND_HANDLER, instance[method] as () => unknown);
        for (const route of routes ?? []) {
          const key = `${route.action}/${route.phase}`;
          if (this.handlers.has(key)) throw new Error(`two handlers for ${key}`);
          this.handlers.set(key, (instance[method] as CommandHandler).bind(instance));
          if (route.preparedTransaction) this.prepared.add(route.action);
        }
      }
    }
    for (const action of this.prepared) {
      for (const phase of ['commit', 'abort'] as const) {
        if (this.handlers.has(`${action}/${phase}`)) {
          throw new Error(
            `${action} prepares in a prepared transaction: its ${phase} is COMMIT/ROLLBACK PREPARED, remove the @${phase === 'commit' ? 'Commit' : 'Abort'} handler`,
          );
        }
      }
    }
    this.logger.log(`handlers: ${[...this.handlers.keys()].join(', ') || 'none'}`);
  }

  /** Whether `action`'s 2PC phases run through a PostgreSQL prepared transaction. */
  usesPreparedTransaction(action: string): boolean {
    return this.prepared.has(action);
  }

  get hasPreparedTransactions(): boolean {
    return this.prepared.size > 0;
  }

  find(action: string, phase: Phase): CommandHandler | undefined {
    return this.handlers.get(`${action}/${phase}`);
  }
}
