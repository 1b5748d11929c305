import { DynamicModule, Module, OnApplicationShutdown } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { loggerParams } from './logging';
import { MetricsModule } from './metrics.module';
import { stopTracing } from './tracing';

/** Flushes the spans still buffered for the exporter when the app stops. */
class TracingShutdown implements OnApplicationShutdown {
  onApplicationShutdown() {
    return stopTracing();
  }
}

/** Logs (nestjs-pino), metrics (/metrics) and the end of tracing for one process. */
@Module({})
export class ObservabilityModule {
  static forApp(name: string): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [LoggerModule.forRoot(loggerParams(name, process.env.LOG_LEVEL, process.env.LOG_FORMAT)), MetricsModule],
      providers: [TracingShutdown],
      exports: [MetricsModule],
    };
  }
}
