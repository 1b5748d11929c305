import { DynamicModule, Inject, MiddlewareConsumer, Module, NestModule, OnApplicationShutdown } from '@nestjs/common';
import { LoggerModule, Params, PARAMS_PROVIDER_TOKEN } from 'nestjs-pino';
import { accessLog, ALL_ROUTES, loggerParams } from './logging';
import { MetricsModule } from './metrics.module';
import { stopTracing } from './tracing';

/** Flushes the spans still buffered for the exporter when the app stops. */
class TracingShutdown implements OnApplicationShutdown {
  onApplicationShutdown() {
    return stopTracing();
  }
}

/** Logs (nestjs-pino, and the request log), metrics (/metrics) and the end of tracing for one process. */
@Module({})
export class ObservabilityModule implements NestModule {
  constructor(@Inject(PARAMS_PROVIDER_TOKEN) private readonly params: Params) {}

  configure(consumer: MiddlewareConsumer) {
    const requests = accessLog(this.params);
    if (requests) consumer.apply(requests).forRoutes(ALL_ROUTES);
  }

  static forApp(name: string): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [LoggerModule.forRoot(loggerParams(name, process.env.LOG_LEVEL, process.env.LOG_FORMAT)), MetricsModule],
      providers: [TracingShutdown],
      exports: [MetricsModule],
    };
  }
}
