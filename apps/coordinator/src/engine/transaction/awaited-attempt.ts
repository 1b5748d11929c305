import { attemptTimeoutMs } from '../attempts/attempts';
import { ResolvedDefinition } from '../definition/definition';
import { findStep, TransactionState } from './transaction-state';

/**
 * When the attempt a reply or a timeout concerns was sent, and its timeout, read from the
 * state before the decision: null unless that state awaits that very attempt (it was sent in
 * the same batch, or is stale).
 */
export function awaitedAttempt(
  state: TransactionState,
  definition: ResolvedDefinition,
  { stepId, phase, attempt }: { readonly stepId: string; readonly phase: string; readonly attempt: number },
): { readonly sentAt: number; readonly timeoutMs: number } | null {
  const step = findStep(state, stepId);
  const spec = definition.steps.find((s) => s.id === stepId);
  if (!step || !spec || step.waitingFor !== 'reply' || step.dueAt === null) return null;
  if (step.phase !== phase || step.attempt !== attempt) return null;
  const timeoutMs = attemptTimeoutMs(step, spec.timeoutMs);
  return { sentAt: step.dueAt - timeoutMs, timeoutMs };
}
