import { EffectiveAdaptiveTimeout } from '../definition/definition';
import { ReplyTimeEstimate } from './reply-time-window';

/**
 * The timeout in force for an adaptive step: `factor` times the observed percentile, within
 * [minMs, maxMs]. With too few replies observed, maxMs: a healthy participant is never cut
 * short before there is data, and the longest a dead one can keep an attempt is maxMs.
 */
export function adaptiveTimeoutMs(policy: EffectiveAdaptiveTimeout, estimate: ReplyTimeEstimate | null): number {
  if (!estimate) return policy.maxMs;
  return Math.min(policy.maxMs, Math.max(policy.minMs, Math.ceil(policy.factor * estimate.percentileMs)));
}
