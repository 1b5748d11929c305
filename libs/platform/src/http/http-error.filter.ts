import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';

/** The one error shape of every Ordo API: `{ "error": { "code", "message", "details"? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown[] };
}

/** An HTTP error with a stable machine-readable code. */
export class ApiError extends HttpException {
  constructor(status: HttpStatus, code: string, message: string, details?: unknown[]) {
    super({ error: { code, message, ...(details ? { details } : {}) } } satisfies ErrorBody, status);
  }
}

const CODES: Partial<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
};

/** Renders every exception in the error shape; never leaks a stack trace. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost) {
    // Apps inherit this filter into their Kafka handlers (inheritAppConfig): there the
    // error must reach the transport as it is, not as a TypeError from an HTTP response.
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const [status, body] = this.render(exception, http.getRequest<FastifyRequest>());
    void http.getResponse<FastifyReply>().status(status).send(body);
  }

  /**
   * The status and body of `exception`. An unexpected one is logged with the request it
   * broke (its id is the request log's).
   */
  private render(exception: unknown, request: FastifyRequest): [number, ErrorBody] {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const payload = exception.getResponse();
      if (typeof payload === 'object' && payload !== null && 'error' in payload && typeof payload.error === 'object') {
        return [status, payload as ErrorBody];
      }
      // Nest's built-in exceptions (404 route, a pipe's 400 …).
      const given = typeof payload === 'string' ? payload : (payload as { message?: unknown }).message;
      const message = typeof given === 'string' ? given : Array.isArray(given) ? given.join(',') : exception.message;
      return [status, { error: { code: CODES[status] ?? `HTTP_${status}`, message } }];
    }
    const status = (exception as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Fastify's own refusals (a Content-Length that does not match the body …) carry a statusCode.
      return [status, { error: { code: CODES[status] ?? `HTTP_${status}`, message: (exception as Error).message } }];
    }
    const id = request.raw.id === undefined ? '' : ` (request ${JSON.stringify(request.raw.id)})`;
    this.logger.error(`${request.method} ${request.url}${id}: ${exception instanceof Error ? exception.stack : String(exception)}`);
    return [500, { error: { code: 'INTERNAL', message: 'internal error' } }];
  }
}
