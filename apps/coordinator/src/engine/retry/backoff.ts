import { EffectiveRetryPolicy, Jitter } from '../definition/definition';

export type BackoffPolicy = Pick<EffectiveRetryPolicy, 'initialDelayMs' | 'multiplier' | 'maxDelayMs' | 'jitter'>;

const JITTER_FLOOR: Readonly<Record<Jitter, (ceilingMs: number) => number>> = {
  full: () => 0,
  equal: (ceilingMs) => Math.ceil(ceilingMs / 2),
  none: (ceilingMs) => ceilingMs,
};

/**
 * The longest wait after attempt `attempt` (1-based) failed:
 * initialDelayMs × multiplier^(attempt−1), capped at maxDelayMs. Never decreases with
 * `attempt`; an overflow to Infinity is caught by the cap.
 */
export function backoffCeilingMs(policy: BackoffPolicy, attempt: number): number {
  if (policy.initialDelayMs === 0) return 0;
  const exponential = policy.initialDelayMs * policy.multiplier ** (attempt - 1);
  return Math.min(policy.maxDelayMs, Math.floor(exponential));
}

/**
 * Whole milliseconds to wait before the attempt after `attempt`. `random` returns a number in
 * [0, 1) (Math.random's contract); it is a parameter so the engine stays deterministic.
 */
export function retryDelayMs(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = backoffCeilingMs(policy, attempt);
  const floor = JITTER_FLOOR[policy.jitter](ceiling);
  const jittered = floor + Math.floor(random() * (ceiling - floor + 1));
  return Math.min(ceiling, Math.max(floor, jittered));
}
