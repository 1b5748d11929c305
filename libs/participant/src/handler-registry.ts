import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Phase } from '@ordo/protocol';
import { COMMAND_HANDLER, CommandHandler, HandlerRoute } from './handler.decorators';

/** Finds the @Execute / @Compensate / … methods of the app's providers at start. */
@Injectable()
export class HandlerRegistry implements OnModuleInit {
  private readonly logger = new Logger(HandlerRegistry.name);
  private readonly handlers = new Map<string, CommandHandler>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit() {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      for (const method of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        const route = this.reflector.get<HandlerRoute | undefined>(COMMAND_HANDLER, instance[method] as () => unknown);
        if (!route) continue;
        const key = `${route.action}/${route.phase}`;
        if (this.handlers.has(key)) throw new Error(`two handlers for ${key}`);
        this.handlers.set(key, (instance[method] as CommandHandler).bind(instance));
      }
    }
    this.logger.log(`handlers: ${[...this.handlers.keys()].join(', ') || 'none'}`);
  }

  find(action: string, phase: Phase): CommandHandler | undefined {
    return this.handlers.get(`${action}/${phase}`);
  }
}
