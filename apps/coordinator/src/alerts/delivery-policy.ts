import { BackoffPolicy, retryDelayMs } from '../engine/retry/backoff';

/** How a delivery is retried: exponential backoff with jitter, at most `maxAttempts` attempts. */
export interface DeliveryPolicy {
  maxAttempts: number;
  backoff: BackoffPolicy;
}

/** What becomes of a delivery after an attempt. */
export type DeliveryOutcome = { state: 'sent' } | { state: 'pending'; retryInMs: number } | { state: 'dead' };

/**
 * After attempt number `attempt` (1-based): sent when the receiver took it; otherwise tried
 * again after the backoff, or given up (dead) once the attempts are spent.
 */
export function afterAttempt(policy: DeliveryPolicy, attempt: number, delivered: boolean, random: () => number): DeliveryOutcome {
  if (delivered) return { state: 'sent' };
  if (attempt >= policy.maxAttempts) return { state: 'dead' };
  return { state: 'pending', retryInMs: retryDelayMs(policy.backoff, attempt, random) };
}
