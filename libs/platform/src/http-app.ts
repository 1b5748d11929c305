import { NestApplicationOptions, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppConfig } from './config/app-config';
import { METRICS_PATH } from './observability/metrics.module';
import { traceRequests } from './observability/http-tracing';
import { JsonBodyPipe, limitBodies } from './http/body-limits';
import { HttpErrorFilter } from './http/http-error.filter';
import { secureHeaders } from './http/security-headers';
import { validationPipe } from './http/validation.pipe';

export const API_PREFIX = 'api/v1';
export const DOCS_PATH = 'api/docs';

/** What an app's HTTP server needs of its settings. */
export type HttpSettings = Pick<AppConfig, 'MAX_BODY_BYTES' | 'TRUST_PROXY'>;

/** What its OpenAPI document is called. */
export interface HttpDocs {
  name: string;
  description: string;
}

/**
 * An Ordo app on Nest's Fastify adapter with the HTTP surface every Ordo process shares:
 * security headers, client addresses through trusted proxies, the /api/v1 prefix, JSON
 * bodies within limits, DTO validation, the one error shape and the OpenAPI docs. Used by
 * `bootstrap` and by tests serving an app in-process, so both serve exactly the same.
 *
 * Fastify, not Express: the same validated start costs about 40 % less CPU per request
 * (docs/benchmarks.md), and the coordinator's CPU per saga is what bounds its throughput.
 */
export async function createHttpApp(
  module: Type<unknown>,
  docs: HttpDocs,
  settings: HttpSettings = new AppConfig(),
  options: NestApplicationOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    // request.ip: the address the nearest TRUST_PROXY proxies saw (X-Forwarded-For), else the peer's.
    trustProxy: settings.TRUST_PROXY,
    // Node's own limit on receiving a whole request, which Fastify turns off by default: a
    // client trickling a request's bytes would otherwise hold its socket for ever.
    requestTimeout: 300_000,
    // At close, Fastify would otherwise cut every connection, requests under way too (a long
    // poll answered at shutdown); Node's close ends the idle ones and waits for the rest.
    forceCloseConnections: false,
  });
  // Bodies are JSON only, parsed by limitBodies: Nest's parsers would add a urlencoded one.
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { ...options, bodyParser: false });
  const server = app.getHttpAdapter().getInstance();
  secureHeaders(server, DOCS_PATH);
  limitBodies(server, settings.MAX_BODY_BYTES);
  traceRequests(server);
  app.setGlobalPrefix(API_PREFIX, { exclude: [METRICS_PATH] });
  app.useGlobalPipes(new JsonBodyPipe(), validationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle(`Ordo ${docs.name}`).setDescription(docs.description).setVersion('1').addBearerAuth().build(),
  );
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: `${DOCS_PATH}/openapi.json` });
  return app;
}
