import { INestApplication, Logger, LogLevel, Type } from '@nestjs/common';
import { Express } from 'express';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppConfig } from './config/app-config';
import { ConfigError, validateConfig } from './config/validate-config';
import { ShutdownState } from './health/shutdown-state';
import { JsonBodyPipe, limitBodies } from './http/body-limits';
import { HttpErrorFilter } from './http/http-error.filter';
import { secureHeaders } from './http/security-headers';
import { validationPipe } from './http/validation.pipe';
import { traceRequests } from './observability/http-tracing';
import { METRICS_PATH } from './observability/metrics.module';
import { startTracing } from './observability/tracing';

export const API_PREFIX = 'api/v1';
export const DOCS_PATH = 'api/docs';

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
  const app = await NestFactory.create(options.module, {
    abortOnError: false,
    logger: LEVELS.slice(0, LEVELS.indexOf(config.LOG_LEVEL as LogLevel) + 1),
    // Held until the JSON logger below takes over, so every line of the start is JSON too.
    bufferLogs: true,
    // Bodies are JSON only, parsed by limitBodies; Nest's default parsers would add a
    // urlencoded one that every request passes through for nothing.
    bodyParser: false,
  });
  app.useLogger(app.get(PinoLogger));
  app.use(app.get(ShutdownState, { strict: false }).closeConnections);
  configureApp(app, options, config);
  app.enableShutdownHooks();
  await options.connect?.(app);
  await app.listen(config.PORT, '0.0.0.0');
  new Logger(options.name).log(`listening on http://localhost:${config.PORT}/${API_PREFIX}`);
  return app;
}

/**
 * The HTTP surface every Ordo process shares: security headers, client addresses through
 * trusted proxies, the /api/v1 prefix, JSON bodies within limits, DTO validation, the one
 * error shape and the OpenAPI docs. Exported so tests serving an app in-process get exactly
 * what `bootstrap` serves. Call it before `init()` / `listen()`.
 */
export function configureApp(
  app: INestApplication,
  docs: Pick<BootstrapOptions, 'name' | 'description'>,
  settings: Pick<AppConfig, 'MAX_BODY_BYTES' | 'TRUST_PROXY'> = new AppConfig(),
): void {
  // request.ip: the address the nearest TRUST_PROXY proxies saw (X-Forwarded-For), else the peer's.
  (app.getHttpAdapter().getInstance() as Express).set('trust proxy', settings.TRUST_PROXY);
  secureHeaders(app, DOCS_PATH);
  limitBodies(app, settings.MAX_BODY_BYTES);
  app.setGlobalPrefix(API_PREFIX, { exclude: [METRICS_PATH] });
  app.use(traceRequests);
  app.useGlobalPipes(new JsonBodyPipe(), validationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle(`Ordo ${docs.name}`).setDescription(docs.description).setVersion('1').addBearerAuth().build(),
  );
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: `${DOCS_PATH}/openapi.json` });
}
