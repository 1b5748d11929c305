import { ArgumentMetadata, HttpStatus, INestApplication, PipeTransform } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { NextFunction, Request, Response } from 'express';
import { jsonProblem } from '@ordo/protocol';
import { ApiError } from './http-error.filter';

/**
 * Request bodies are JSON, at most `maxBodyBytes` (larger: 413 PAYLOAD_TOO_LARGE from the
 * body parser, told by Content-Length before reading). A body of another content type is
 * refused with 415 rather than parsed as a form or ignored.
 */
export function limitBodies(app: INestApplication, maxBodyBytes: number): void {
  app.use(refuseNonJsonBodies);
  (app as NestExpressApplication).useBodyParser('json', { limit: maxBodyBytes });
}

function refuseNonJsonBodies(request: Request, _response: Response, next: NextFunction): void {
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  if (hasBody && !request.is(['application/json', 'application/*+json'])) {
    const type = request.headers['content-type'] ?? 'none';
    return next(new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'UNSUPPORTED_MEDIA_TYPE', `request bodies must be application/json (got ${type})`));
  }
  next();
}

/**
 * Refuses bodies nested deeper than MAX_JSON_DEPTH before any DTO transformation recurses
 * into them (a stack overflow would be a 500), and U+0000 in a body bound to a DTO, which
 * PostgreSQL cannot store. A body taken raw (`unknown`: definitions) is checked for U+0000
 * by its own validator, which reports it among the body's other problems.
 */
export class JsonBodyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body') return value;
    const raw = metadata.metatype === undefined || metadata.metatype === Object;
    const problem = jsonProblem(value, { allowNul: raw });
    if (problem) {
      const details = [{ path: problem.path, message: problem.message }];
      throw new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', `${problem.path || 'body'}: ${problem.message}`, details);
    }
    return value;
  }
}
