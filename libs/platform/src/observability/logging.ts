import { RequestMethod } from '@nestjs/common';
import { IncomingMessage, ServerResponse } from 'http';
import { Params } from 'nestjs-pino';
import { DestinationStream } from 'pino';
import { HttpLogger, Options, pinoHttp as pinoHttpMiddleware } from 'pino-http';
import pretty from 'pino-pretty';

/** Nest's level names (LOG_LEVEL) to pino's. */
const PINO_LEVELS: Record<string, string> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Request headers that hold credentials: never written to a log. */
const REDACTED = ['authorization', 'x-api-key', 'cookie'].map((h) => `req.headers["${h}"]`);

/** Probes and scrapes arrive every few seconds and would drown the request log. */
const quiet = (request: IncomingMessage) => /^\/(api\/v1\/health|metrics)(\/|\?|$)/.test(request.url ?? '');

/** Nest's account of its own start (a line per module and route): noise in a terminal. */
const NEST_START_UP = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication', 'NestMicroservice']);

/**
 * LOG_FORMAT=pretty (what `npm start` uses): one short line per entry for a person at a
 * terminal — time, level, context, message and the entry's own fields, requests as
 * "POST /api/v1/transactions 201 4 ms" —, and Nest's start-up chatter left out.
 */
function prettyParams(): Pick<Options, 'customSuccessMessage' | 'customErrorMessage' | 'hooks'> & { stream: DestinationStream } {
  const request = (req: IncomingMessage, res: ServerResponse, ms: number) => `${req.method} ${req.url} ${res.statusCode} ${Math.round(ms)} ms`;
  return {
    stream: pretty({
      translateTime: 'SYS:HH:MM:ss.l',
      singleLine: true,
      ignore: 'pid,hostname,service,context,req,res,responseTime',
      messageFormat: '{if context}{context}: {end}{msg}',
    }),
    customSuccessMessage: request,
    customErrorMessage: (req, res) => request(req, res, 0),
    hooks: {
      logMethod(args, method) {
        const first = args[0] as { context?: string } | undefined;
        if (typeof first === 'object' && first !== null && NEST_START_UP.has(first.context ?? '')) return;
        method.apply(this, args);
      },
    },
  };
}

/**
 * nestjs-pino settings: one JSON object a line on stdout (LOG_FORMAT=json, the default), or
 * short human lines (pretty); requests logged by pino-http (at info, so LOG_LEVEL=warn keeps
 * them out; bodies never), credentials redacted. Fields given to a log call (txId, stepId …)
 * become fields of the line.
 *
 * nestjs-pino's own request middleware is not used (no routes): besides pino-http it keeps
 * each request's logger in an AsyncLocalStorage, and on Node 20 the first `run` of one turns
 * on promise hooks for the whole process, for good. Every promise of every Kafka batch and
 * query then pays for them: 10–14 % of each app's CPU at saturation (measured, see
 * docs/benchmarks.md). `accessLog` writes the same request lines without it; a line logged
 * while a request is handled no longer carries that request's fields (a 500 names its
 * request itself, see HttpErrorFilter).
 */
export function loggerParams(name: string, logLevel: string | undefined, format: string | undefined): Params {
  const options: Options = {
    level: PINO_LEVELS[logLevel ?? 'log'] ?? 'info',
    base: { service: name },
    redact: { paths: REDACTED, censor: '[redacted]' },
    autoLogging: { ignore: quiet },
  };
  let pinoHttp: Params['pinoHttp'] = options;
  if (format === 'pretty') {
    const { stream, ...human } = prettyParams();
    pinoHttp = [{ ...options, ...human }, stream];
  }
  return { forRoutes: [], pinoHttp };
}

/**
 * The request log: pino-http with the settings of loggerParams, as Express middleware; none
 * when the level leaves its lines out (it writes them at info). Below that it would still
 * build a logger with the serialized request for every request, for no line: 0.12–0.2 ms of
 * CPU a request, a third of what the whole HTTP stack costs without it (measured).
 */
export function accessLog(params: Params): HttpLogger | undefined {
  const given = params.pinoHttp;
  const middleware = Array.isArray(given) ? pinoHttpMiddleware(given[0], given[1]) : pinoHttpMiddleware(given as Options);
  return middleware.logger.isLevelEnabled('info') ? middleware : undefined;
}

/** Every route, in the path syntax of path-to-regexp 8 (Nest 11 warns at '*'). */
export const ALL_ROUTES = { path: '{*path}', method: RequestMethod.ALL };
