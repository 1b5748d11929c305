import { ArgumentMetadata, HttpStatus, PipeTransform } from '@nestjs/common';
import { isUtf8 } from 'buffer';
import { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonProblem } from '@ordo/protocol';
import { ApiError } from './http-error.filter';

/** Whether a request carries a body at all (a POST without one may still name a type). */
const hasBody = (request: FastifyRequest) => request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/**
 * Request bodies are JSON, at most the server's `bodyLimit` (MAX_BODY_BYTES; larger: 413
 * PAYLOAD_TOO_LARGE, told by Content-Length before reading); malformed JSON or invalid UTF-8
 * is 400 BAD_REQUEST, a body of another content type 415. Fastify's own parsers are
 * replaced: its JSON parser refuses `__proto__` keys, which a workflow's input may hold as
 * data (it is stored as sent, never merged into an object).
 */
export function limitBodies(server: FastifyInstance): void {
  server.removeAllContentTypeParsers();
  const parseJson = (_request: FastifyRequest, body: string | Buffer, done: (error: Error | null, body?: unknown) => void) => {
    // Decoding would turn each bad byte into U+FFFD and store the changed text as if sent.
    if (!isUtf8(body as Buffer)) return done(new ApiError(HttpStatus.BAD_REQUEST, 'BAD_REQUEST', 'request body is not valid UTF-8'));
    if (body.length === 0) return done(null, {});
    try {
      done(null, JSON.parse(body.toString('utf8')));
    } catch (error) {
      done(new ApiError(HttpStatus.BAD_REQUEST, 'BAD_REQUEST', (error as Error).message));
    }
  };
  for (const type of ['application/json', /^application\/[^;]+\+json$/]) server.addContentTypeParser(type, { parseAs: 'buffer' }, parseJson);
  server.addContentTypeParser('*', (request, _payload, done) => {
    if (!hasBody(request)) return done(null, undefined);
    const type = request.headers['content-type'] ?? 'none';
    done(new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'UNSUPPORTED_MEDIA_TYPE', `request bodies must be application/json (got ${type})`));
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
