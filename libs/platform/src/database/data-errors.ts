/**
 * SQLSTATE classes a statement fails with because of the data it was given, not because of
 * the database's state: 22 data exception (text jsonb cannot hold, a number out of range),
 * 23 integrity constraint violation, 54 program limit exceeded (a value or row too large).
 * The same data fails the same way on every retry.
 */
const DATA_CLASSES = new Set(['22', '23', '54']);

/**
 * Whether `error` says the data was at fault, so retrying the same message can never succeed:
 * a PostgreSQL error of a class above, or an error our own code threw while working on the
 * data (TypeError, RangeError …). Connection losses, timeouts, serialization failures and
 * the like are not: they pass, and the message must be tried again.
 */
export function isCausedByData(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const sqlState = (error as { code?: unknown }).code ?? (error as { driverError?: { code?: unknown } }).driverError?.code;
  if (typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState)) return DATA_CLASSES.has(sqlState.slice(0, 2));
  return error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError;
}
