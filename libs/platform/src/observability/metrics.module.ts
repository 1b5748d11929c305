import { Controller, Get, Global, Header, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { RequireScope } from '../http/public.decorator';

/** Served outside the /api/v1 prefix, where Prometheus looks by default. */
export const METRICS_PATH = 'metrics';

/**
 * Behind the app's authentication where it has one (the coordinator: a `metrics` key, which
 * can read nothing else, set as the scrape job's bearer token), so nothing but health is
 * open there.
 */
@ApiExcludeController()
@RequireScope('metrics')
@Controller(METRICS_PATH)
class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * The process's Prometheus registry (with Node.js process metrics) and GET /metrics. Apps
 * and libraries register their own metrics on the injected `Registry`.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    {
      provide: Registry,
      useFactory: () => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });
        return registry;
      },
    },
  ],
  exports: [Registry],
})
export class MetricsModule {}
