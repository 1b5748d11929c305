/** Why a start was not delivered (yet): what the coordinator answered, or what went wrong on the way. */
export interface StartError {
  /** The HTTP status, when the coordinator answered. */
  status?: number;
  code: string;
  message: string;
}

/** What to do with a start after one delivery attempt. */
export type DeliveryVerdict = { kind: 'delivered'; txId: string } | { kind: 'rejected'; error: StartError } | { kind: 'retry'; error: StartError };

/**
 * Client errors that a later attempt may get past: a timeout, a rate limit, and refused
 * credentials — a key being configured, fixed or rotated must not reject every start made
 * meanwhile.
 */
const PASSING_CLIENT_ERRORS = new Set([401, 403, 408, 429]);

interface CoordinatorError {
  error: { code: string; message: string };
}

const isCoordinatorError = (body: unknown): body is CoordinatorError => {
  const error = (body as Partial<CoordinatorError> | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
};

/**
 * Judges the coordinator's answer to `POST /api/v1/transactions`. 200 (started before with
 * this idempotency key) and 201 deliver. Any other 4xx from the coordinator itself (an
 * unknown definition or version, an input it refuses) is final: the same request would be
 * refused forever. Everything else is retried — including a 4xx without the coordinator's
 * error body, which comes from something else at that address (a proxy, a wrong URL).
 */
export function verdictOf(status: number, body: unknown): DeliveryVerdict {
  if (status === 200 || status === 201) {
    const id = (body as { id?: unknown } | null)?.id;
    if (typeof id === 'string') return { kind: 'delivered', txId: id };
    return { kind: 'retry', error: { status, code: 'UNEXPECTED_ANSWER', message: `HTTP ${status} without a transaction id` } };
  }
  if (isCoordinatorError(body)) {
    const error = { status, code: body.error.code, message: body.error.message };
    const final = status >= 400 && status < 500 && !PASSING_CLIENT_ERRORS.has(status);
    return { kind: final ? 'rejected' : 'retry', error };
  }
  return { kind: 'retry', error: { status, code: `HTTP_${status}`, message: `HTTP ${status} from something other than the coordinator's API` } };
}

/** A request that got no answer (refused connection, timeout, reset) is retried. */
export function verdictOfFailure(error: Error): DeliveryVerdict {
  const cause = (error.cause as Error | undefined)?.message;
  return { kind: 'retry', error: { code: 'UNREACHABLE', message: cause ? `${error.message}: ${cause}` : error.message } };
}
