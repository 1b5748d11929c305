import { Logger } from '@nestjs/common';
import { Command } from '@ordo/protocol';
import { ReplyBody } from './barrier-rules';
import { BusinessFailure, TransientFailure } from './failures';
import { CommandHandler, HandlerContext } from './handler.decorators';

/** PostgreSQL errors that a later attempt can get past: lock_not_available, deadlock_detected, serialization_failure. */
const RETRYABLE_SQLSTATES = new Set(['55P03', '40P01', '40001']);

export const describeCommand = (c: Command) => `${c.action}/${c.phase} of ${c.txId}/${c.stepId} (attempt ${c.attempt})`;

/** The fields a log line about a command carries, so lines can be found by transaction and step. */
export const commandFields = (c: Command) => ({ txId: c.txId, stepId: c.stepId, phase: c.phase, action: c.action, attempt: c.attempt });

/** The error code of a reply to a lock conflict. */
export const LOCK_CONFLICT = 'LOCK_CONFLICT';

/** A `retry` reply when `error` is a lock conflict under contention (a later attempt gets past it); null otherwise. */
export function lockConflict(error: unknown): ReplyBody | null {
  if (!RETRYABLE_SQLSTATES.has((error as { code?: string }).code ?? '')) return null;
  return { outcome: 'retry', error: { code: LOCK_CONFLICT, message: (error as Error).message } };
}

/** The reply to a local transaction that failed for a reason other than the business code's. */
export const localTransactionFailed = (error: unknown): ReplyBody =>
  lockConflict(error) ?? { outcome: 'retry', error: { code: 'LOCAL_TRANSACTION_FAILED', message: (error as Error).message } };

/**
 * A handler that did not succeed in a local transaction run without savepoints: nothing of
 * it can be undone alone, so the whole transaction rolls back and runs again with them.
 */
export class RunWithSavepoints extends Error {
  constructor(command: Command) {
    super(`${describeCommand(command)} did not succeed: its transaction runs again with savepoints`);
  }
}

/**
 * Runs the business code inside the caller's local transaction and turns its result or
 * error into a reply. A refusal must change nothing, even when the handler wrote before it
 * threw; the savepoint also revives a transaction that a failed statement aborted, so the
 * barrier can still record the refusal. Without `savepoint` (the common path, one statement
 * less per command), anything but success throws RunWithSavepoints instead.
 */
export async function runHandler(
  handler: CommandHandler,
  command: Command,
  manager: HandlerContext['manager'],
  logger: Logger,
  savepoint = true,
): Promise<ReplyBody> {
  if (savepoint) await manager.query('SAVEPOINT ordo_handler');
  try {
    const output = await handler(command.input, { command, manager });
    return output ? { outcome: 'success', output } : { outcome: 'success' };
  } catch (error) {
    if (!savepoint) throw new RunWithSavepoints(command);
    await manager.query('ROLLBACK TO SAVEPOINT ordo_handler');
    if (error instanceof BusinessFailure) return { outcome: 'failure', error: { code: error.code, message: error.message } };
    if (error instanceof TransientFailure) return { outcome: 'retry', error: { code: error.code, message: error.message } };
    const conflict = lockConflict(error);
    if (conflict) return conflict;
    // An unexpected exception is transient: the coordinator retries under its policy.
    logger.error({ ...commandFields(command), msg: `${describeCommand(command)} threw: ${(error as Error).stack ?? String(error)}` });
    return { outcome: 'retry', error: { code: 'UNEXPECTED', message: (error as Error).message ?? String(error) } };
  }
}
