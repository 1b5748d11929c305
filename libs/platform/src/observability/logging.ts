import { RequestMethod } from '@nestjs/common';
import { IncomingMessage } from 'http';
import { Params } from 'nestjs-pino';

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

/**
 * nestjs-pino settings: one JSON object a line on stdout, requests logged by pino-http (at
 * info, so LOG_LEVEL=warn keeps them out; bodies never), credentials redacted. Fields given to a log
 * call (txId, stepId …) become fields of the line.
 */
export function loggerParams(name: string, logLevel: string | undefined): Params {
  return {
    // nestjs-pino's default route, '*', is the old path syntax: Nest 11 converts it and warns
    // at every start. The same routes in the syntax of path-to-regexp 8.
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      level: PINO_LEVELS[logLevel ?? 'log'] ?? 'info',
      base: { service: name },
      redact: { paths: REDACTED, censor: '[redacted]' },
      autoLogging: { ignore: quiet },
    },
  };
}
