import { INestApplication, Logger, LogLevel, Type } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppConfig } from './config/app-config';
import { ConfigError, validateConfig } from './config/validate-config';
import { ShutdownState } from './health/shutdown-state';
import { API_PREFIX, createHttpApp } from './http-app';
import { startTracing } from './observability/tracing';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

export interface BootstrapOptions {
  name: string;
  module: Type<unknown>;
  config: Type<AppConfig>;
  description: string;
  /** Runs before the HTTP server listens (e.g. connecting a Kafka microservice). */
  connect?: (app: INestApplication) => Promise<void>;
}

/**
 * Starts one Ordo process: checks its settings first (one clear line and exit code 1 when
 * one is missing or malformed), then serves its API under /api/v1 with OpenAPI docs.
 */
export async function bootstrap(options: BootstrapOptions): Promise<INestApplication> {
  let config: AppConfig;
  try {
    config = validateConfig(options.config, process.env);
    // Before Nest creates anything, so every span the app starts has a provider.
    startTracing(options.name);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`[${options.name}] ${error.message}\n`);
    process.exit(1);
  }
  try {
    return await start(options, config);
  } catch (error) {
    // A start that cannot complete (database or broker unreachable …) exits non-zero
    // with the reason, instead of leaving a half-started process. Written straight to
    // stderr: pino writes asynchronously, and process.exit would drop its last lines.
    process.stderr.write(`[${options.name}] start failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  }
}

async function start(options: BootstrapOptions, config: AppConfig): Promise<INestApplication> {
  const app = await createHttpApp(options.module, options, config, {
    abortOnError: false,
    logger: LEVELS.slice(0, LEVELS.indexOf(config.LOG_LEVEL as LogLevel) + 1),
    // Held until the JSON logger below takes over, so every line of the start is JSON too.
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoLogger));
  app.get(ShutdownState, { strict: false }).closeConnections(app.getHttpAdapter().getInstance());
  app.enableShutdownHooks();
  await options.connect?.(app);
  await app.listen(config.PORT, '0.0.0.0');
  new Logger(options.name).log(`listening on http://localhost:${config.PORT}/${API_PREFIX}`);
  return app;
}
