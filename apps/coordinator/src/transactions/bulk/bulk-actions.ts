import { JsonObject } from '@ordo/protocol';
import { OperatorEvent } from '../../engine';
import { ListFilter } from '../persistence/transaction.repository';

/** The operator actions that can be applied to every transaction matching a filter. */
export const BULK_ACTIONS = ['retry', 'abort', 'pause', 'resume', 'retry_now', 'set_attempts', 'skip', 'fail_step'] as const;
export type BulkActionKind = (typeof BULK_ACTIONS)[number];

/** What an action needs besides the transaction. */
export interface BulkParams {
  stepId?: string;
  attemptsLeft?: number;
  output?: JsonObject;
  note?: string;
}

/** A bulk action and where its run stands. */
export interface BulkAction {
  id: string;
  action: BulkActionKind;
  params: JsonObject;
  filter: JsonObject;
  actor: string;
  status: 'running' | 'done';
  matched: number;
  processed: number;
  applied: number;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

const STEP_ACTIONS: readonly BulkActionKind[] = ['retry_now', 'set_attempts', 'skip', 'fail_step'];

/** The transactions of the filter an action may apply to; the machine refuses the others anyway. */
export function scopeOf(action: BulkActionKind, filter: ListFilter): ListFilter {
  switch (action) {
    case 'retry':
      return { ...filter, status: 'failed' };
    case 'abort':
      return { ...filter, status: 'running' };
    case 'pause':
      return { ...filter, status: 'running', paused: false };
    case 'resume':
      return { ...filter, paused: true };
    default:
      return filter;
  }
}

/** What the action lacks, one problem per missing parameter (none: it can run). */
export function missingParams(action: BulkActionKind, { stepId, attemptsLeft, note }: BulkParams): { path: string; message: string }[] {
  const missing = (path: string, needed: boolean) => (needed ? [{ path, message: `${action} needs ${path}` }] : []);
  return [
    ...missing('stepId', STEP_ACTIONS.includes(action) && stepId === undefined),
    ...missing('attemptsLeft', action === 'set_attempts' && attemptsLeft === undefined),
    ...missing('note', (action === 'skip' || action === 'fail_step') && note === undefined),
  ];
}

/** The request each matching transaction gets (the parameters checked by missingParams). */
export function eventOf(action: BulkActionKind, { stepId = '', attemptsLeft = 0, output, note }: BulkParams, actor: string): OperatorEvent {
  switch (action) {
    case 'retry':
      return { type: 'retry', actor };
    case 'abort':
      return { type: 'abort', actor, reason: note };
    case 'pause':
    case 'resume':
      return { type: action, actor, note };
    case 'retry_now':
      return { type: 'retry_now', actor, stepId, note };
    case 'set_attempts':
      return { type: 'set_attempts', actor, stepId, attemptsLeft, note };
    case 'skip':
      return { type: 'skip', actor, stepId, output: output ?? null, note: note ?? '' };
    case 'fail_step':
      return { type: 'fail_step', actor, stepId, note: note ?? '' };
  }
}
