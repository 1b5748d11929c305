/** A request the Ordo API refused or answered with an error (`{ error: { code, message, details? } }`). */
export class OrdoApiError extends Error {
  constructor(
    /** HTTP status (0 when the coordinator could not be reached). */
    readonly status: number,
    /** Stable machine-readable code, e.g. DEFINITION_NOT_FOUND, VALIDATION_FAILED. */
    readonly code: string,
    message: string,
    readonly details?: unknown[],
  ) {
    super(message);
    this.name = 'OrdoApiError';
  }

  static of(status: number, body: unknown): OrdoApiError {
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${status}`;
    const message = typeof error?.message === 'string' ? error.message : `the API answered ${status}`;
    return new OrdoApiError(status, code, message, Array.isArray(error?.details) ? error.details : undefined);
  }
}
