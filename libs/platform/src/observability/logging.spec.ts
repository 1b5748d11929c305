import { IncomingMessage, ServerResponse } from 'http';
import { Writable } from 'stream';
import pino from 'pino';
import { Options } from 'pino-http';
import { accessLog, loggerParams } from './logging';

/** The pino-http options and the lines a logger made from them writes. */
function logger(format: string | undefined) {
  const { pinoHttp } = loggerParams('svc', 'log', format);
  const options = (Array.isArray(pinoHttp) ? pinoHttp[0] : pinoHttp) as Options;
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  return { options, lines, log: pino(options as pino.LoggerOptions, sink) };
}

describe('loggerParams', () => {
  it('writes JSON by default, Nest start-up lines included, with no stream of its own', () => {
    const { pinoHttp } = loggerParams('svc', 'warn', undefined);
    expect(Array.isArray(pinoHttp)).toBe(false);
    const { log, lines } = logger('json');
    log.info({ context: 'InstanceLoader' }, 'AppModule dependencies initialized');
    expect(lines).toEqual([expect.objectContaining({ service: 'svc', context: 'InstanceLoader', msg: 'AppModule dependencies initialized' })]);
  });

  it("pretty: leaves out Nest's start-up account, keeps everything else, and names requests in one phrase", () => {
    const { pinoHttp } = loggerParams('svc', 'log', 'pretty');
    expect(Array.isArray(pinoHttp) && pinoHttp[1]).toBeTruthy();
    const { log, lines, options } = logger('pretty');
    log.info({ context: 'RouterExplorer' }, 'Mapped {/api/v1/health, GET} route');
    log.info({ context: 'NestFactory' }, 'Starting Nest application...');
    log.warn({ context: 'TransactionEngine', txId: 't1' }, 'step failed');
    log.info('plain');
    expect(lines.map((l) => l.msg)).toEqual(['step failed', 'plain']);
    expect(lines[0]).toMatchObject({ txId: 't1', level: 40 });
    const message = options.customSuccessMessage as (req: IncomingMessage, res: ServerResponse, ms: number) => string;
    expect(message({ method: 'POST', url: '/api/v1/transactions' } as IncomingMessage, { statusCode: 201 } as ServerResponse, 3.6)).toBe(
      'POST /api/v1/transactions 201 4 ms',
    );
  });

  it('logs requests only at a level that writes their lines (info): below it, no request middleware at all', () => {
    expect(accessLog(loggerParams('svc', 'log', undefined))).toEqual(expect.any(Function));
    expect(accessLog(loggerParams('svc', 'debug', 'pretty'))).toEqual(expect.any(Function));
    expect(accessLog(loggerParams('svc', 'warn', undefined))).toBeUndefined();
    expect(accessLog(loggerParams('svc', 'error', 'pretty'))).toBeUndefined();
  });
});
