import { ArgumentMetadata, HttpStatus, PipeTransform } from '@nestjs/common';
import { isUtf8 } from 'buffer';
import { FastifyInstance, FastifyRequest } from 'fastify';
import { IncomingMessage } from 'http';
import { jsonProblem } from '@ordo/protocol';
import { ApiError } from './http-error.filter';

/** Whether a request carries a body at all. */
const hasBody = (request: FastifyRequest) => request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length']) > 0;

/**
 * The body of a request, or a refusal once it has all arrived: a body over `limit` bytes
 * (known from Content-Length at once, or as it streams) is discarded, not kept, as is one
 * refused already (`refusal`). Reading to the end lets a client still sending hear the
 * answer: Fastify closes the connection after a refused body, and a client whose write
 * meets the closed socket sees a broken pipe instead of the 413.
 */
function readBody(payload: IncomingMessage, limit: number, refusal?: ApiError): Promise<Buffer> {
  const tooLarge = () => new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, 'PAYLOAD_TOO_LARGE', `request bodies are at most ${limit} bytes`);
  refusal ??= Number(payload.headers['content-length']) > limit ? tooLarge() : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve, reject) => {
    payload.on('data', (chunk: Buffer) => {
      if (refusal) return;
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
      } else {
        refusal = tooLarge();
        chunks.length = 0;
      }
    });
    payload.on('end', () => (refusal ? reject(refusal) : resolve(Buffer.concat(chunks, size))));
    payload.on('error', reject);
  });
}

/** A JSON body as sent: malformed JSON or invalid UTF-8 is 400 BAD_REQUEST. */
function parseJson(body: Buffer): unknown {
  // Decoding would turn each bad byte into U+FFFD and store the changed text as if sent.
  if (!isUtf8(body)) throw new ApiError(HttpStatus.BAD_REQUEST, 'BAD_REQUEST', 'request body is not valid UTF-8');
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ApiError(HttpStatus.BAD_REQUEST, 'BAD_REQUEST', (error as Error).message);
  }
}

/**
 * Request bodies are JSON, at most `maxBodyBytes` (larger: 413 PAYLOAD_TOO_LARGE, never held
 * in memory); malformed JSON or invalid UTF-8 is 400 BAD_REQUEST, a body of another content
 * type 415. Fastify's own parsers are replaced: its JSON parser refuses `__proto__` keys,
 * which a workflow's input may hold as data (it is stored as sent, never merged into an object).
 */
export function limitBodies(server: FastifyInstance, maxBodyBytes: number): void {
  server.removeAllContentTypeParsers();
  for (const type of ['application/json', /^application\/[^;]+\+json$/]) {
    server.addContentTypeParser(type, async (_request: FastifyRequest, payload: IncomingMessage) => parseJson(await readBody(payload, maxBodyBytes)));
  }
  server.addContentTypeParser('*', async (request: FastifyRequest, payload: IncomingMessage) => {
    // A request without a body (a POST naming a type all the same) has none to refuse.
    if (!hasBody(request)) return undefined;
    const type = request.headers['content-type'] ?? 'none';
    const message = `request bodies must be application/json (got ${type})`;
    await readBody(payload, 0, new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'UNSUPPORTED_MEDIA_TYPE', message));
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
