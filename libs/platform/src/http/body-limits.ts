import { ArgumentMetadata, HttpStatus, INestApplication, PipeTransform } from '@nestjs/common';
import { isUtf8 } from 'buffer';
import { json, NextFunction, Request, Response } from 'express';
import { jsonProblem } from '@ordo/protocol';
import { ApiError, HttpErrorFilter } from './http-error.filter';

const errors = new HttpErrorFilter();

/**
 * Request bodies are JSON, at most `maxBodyBytes` (larger: 413 PAYLOAD_TOO_LARGE, told by
 * Content-Length before reading); malformed JSON or invalid UTF-8 is 400 BAD_REQUEST, another content type
 * 415. These are answered here, in the error shape: an error passed on from middleware
 * would meet the dashboard's static file server, which turns every error on an /api route
 * into a 404.
 */
export function limitBodies(app: INestApplication, maxBodyBytes: number): void {
  const parse = json({
    limit: maxBodyBytes,
    // Decoding would turn each bad byte into U+FFFD and store the changed text as if sent.
    verify: (_request, _response, body) => {
      if (!isUtf8(body)) throw new ApiError(HttpStatus.BAD_REQUEST, 'BAD_REQUEST', 'request body is not valid UTF-8');
    },
  });
  const refuse = (response: Response, error: unknown) => {
    const [status, body] = errors.render(error);
    response.status(status).json(body);
  };
  // Named so that Nest does not add its own JSON parser (it skips one named jsonParser).
  app.use(function jsonParser(request: Request, response: Response, next: NextFunction) {
    const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
    if (hasBody && !request.is(['application/json', 'application/*+json'])) {
      const type = request.headers['content-type'] ?? 'none';
      return refuse(
        response,
        new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'UNSUPPORTED_MEDIA_TYPE', `request bodies must be application/json (got ${type})`),
      );
    }
    parse(request, response, (error?: unknown) => (error ? refuse(response, error) : next()));
  });
}

/**
 * Refuses bodies nested deeper than MAX_JSON_DEPTH before any DTO transformation recurses
 * into them (a stack overflow would be a 500), and text PostgreSQL cannot store (U+0000, an
 * unpaired surrogate) in a body bound to a DTO. A body taken raw (`unknown`: definitions)
 * has its text checked by its own validator, which reports it among the body's other problems.
 */
export class JsonBodyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body') return value;
    const raw = metadata.metatype === undefined || metadata.metatype === Object;
    const problem = jsonProblem(value, { anyText: raw });
    if (problem) {
      const details = [{ path: problem.path, message: problem.message }];
      throw new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', `${problem.path || 'body'}: ${problem.message}`, details);
    }
    return value;
  }
}
