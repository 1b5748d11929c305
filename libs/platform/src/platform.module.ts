import { DynamicModule, Global, Module, Type } from '@nestjs/common';
import { ConfigModule, ConfigService, registerAs } from '@nestjs/config';
import { AppConfig } from './config/app-config';
import { validateConfig } from './config/validate-config';
import { DatabaseOptions } from './database/data-source-options';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MessagingModule } from './messaging/messaging.module';
import { ObservabilityModule } from './observability/observability.module';

export interface PlatformOptions<C extends AppConfig> {
  /** The process's name: Kafka client id, log context. */
  name: string;
  /** Its settings class; validated from the environment at start. */
  config: Type<C>;
  database: DatabaseOptions;
}

/**
 * What every Ordo process stands on: validated configuration, PostgreSQL (migrated),
 * the message bus, the health endpoint, logs and metrics. The settings object is injectable by its class.
 */
@Global()
@Module({})
export class PlatformModule {
  static forApp<C extends AppConfig>(options: PlatformOptions<C>): DynamicModule {
    const configProvider = {
      provide: options.config,
      inject: [ConfigService],
      useFactory: (config: ConfigService) => config.get<C>('app'),
    };
    return {
      module: PlatformModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [registerAs('app', () => validateConfig(options.config, process.env))],
        }),
        DatabaseModule.forApp(options.name, options.database),
        MessagingModule.forApp(options.name),
        HealthModule,
        ObservabilityModule.forApp(options.name),
      ],
      providers: [configProvider, { provide: AppConfig, useExisting: options.config }],
      exports: [options.config, AppConfig],
    };
  }
}
