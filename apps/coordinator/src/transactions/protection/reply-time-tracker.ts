import { Injectable } from '@nestjs/common';
import {
  adaptiveTimeoutMs,
  awaitedAttempt,
  EffectiveAdaptiveTimeout,
  Effect,
  EMPTY_REPLY_TIMES,
  estimateReplyTime,
  observeReplyTime,
  ReplyTimeEstimate,
  ReplyTimes,
  ReplyTimeWindow,
  ResolvedDefinition,
  TransactionState,
} from '../../engine';
import { CoordinatorConfig } from '../../config/coordinator.config';
import { StepLayout } from '../persistence/transaction-record';
import { ReplyFlowMonitor } from './reply-flow-monitor';

/** One database transaction's decision that committed, with what dates the attempts it ended. */
export interface TimedDecision {
  readonly record: { readonly layout: readonly StepLayout[]; readonly state: TransactionState };
  readonly definition: ResolvedDefinition;
  readonly effects: readonly Effect[];
  readonly now: number;
}

/** An adaptive timeout policy in use for a participant, and the timeout it puts in force now. */
export interface AdaptiveTimeoutStatus extends EffectiveAdaptiveTimeout {
  readonly timeoutMs: number;
  /** The observed percentile it follows; null while fewer than REPLY_TIME_MIN_SAMPLES replies are known. */
  readonly percentileMs: number | null;
  /** Reply times known for the participant (at most REPLY_TIME_WINDOW). */
  readonly samples: number;
}

/**
 * Each participant's latest reply times, which adaptive step timeouts follow (the machines
 * ask it as their `ReplyTimes`), from the first command of an adaptive step to it on. Fed by
 * the decisions this instance commits: a reply counts its time since its attempt was sent; a
 * timeout counts as a reply time of that timeout's length (the reply, if any, comes later),
 * so that a participant slower than the timeout in force pushes it up until it replies in
 * time or the maximum is reached. Kept in memory, per instance, like the circuit breakers:
 * every instance applies a share of every participant's replies, which is a sample of the
 * same times, and keeping them costs no statement. A new instance starts at each maximum
 * until it has seen enough replies.
 */
@Injectable()
export class ReplyTimeTracker implements ReplyTimes {
  private readonly windows = new Map<string, ReplyTimeWindow>();
  /** The adaptive policies asked for, per participant and policy key, to show the timeout in force of each. */
  private readonly policies = new Map<string, Map<string, EffectiveAdaptiveTimeout>>();

  constructor(
    private readonly config: CoordinatorConfig,
    private readonly replyFlow: ReplyFlowMonitor,
  ) {}

  estimate(participant: string, policy: EffectiveAdaptiveTimeout): ReplyTimeEstimate | null {
    const key = policyKey(policy);
    const known = this.policies.get(participant) ?? new Map<string, EffectiveAdaptiveTimeout>();
    if (!known.has(key)) this.policies.set(participant, known.set(key, policy));
    return this.estimateOf(participant, policy.percentile);
  }

  /** Takes in the replies and timeouts of decisions that committed. */
  committed(decisions: readonly TimedDecision[]): void {
    for (const { record, definition, effects, now } of decisions) {
      for (const effect of effects) {
        if (effect.kind !== 'record') continue;
        const { event } = effect;
        if (event.type !== 'step.replied' && event.type !== 'step.timed_out') continue;
        const attempt = awaitedAttempt(record.state, definition, event);
        const participant = record.layout.find((step) => step.id === event.stepId)?.participant;
        // Only participants with adaptive steps are followed: the others cost nothing.
        if (!attempt || !participant || !this.policies.has(participant)) continue;
        if (event.type === 'step.replied') this.observe(participant, Math.max(0, now - attempt.sentAt));
        // A timeout while replies pile up unconsumed is the coordinators' delay, not the participant's.
        else if (!this.replyFlow.stalled(now)) this.observe(participant, attempt.timeoutMs);
      }
    }
  }

  /** The participants whose adaptive steps this instance sent commands to. */
  participants(): string[] {
    return [...this.policies.keys()];
  }

  /** The adaptive timeouts in force for a participant, one per policy its steps used on this instance. */
  statusOf(participant: string): AdaptiveTimeoutStatus[] {
    const samples = this.windows.get(participant)?.sorted.length ?? 0;
    return [...(this.policies.get(participant)?.values() ?? [])].map((policy) => {
      const estimate = this.estimateOf(participant, policy.percentile);
      return { ...policy, timeoutMs: adaptiveTimeoutMs(policy, estimate), percentileMs: estimate?.percentileMs ?? null, samples };
    });
  }

  /** Every adaptive timeout in force, for the gauge. */
  inForce(): { participant: string; policy: string; timeoutMs: number }[] {
    return this.participants().flatMap((participant) =>
      this.statusOf(participant).map((status) => ({ participant, policy: policyKey(status), timeoutMs: status.timeoutMs })),
    );
  }

  private estimateOf(participant: string, percentile: number): ReplyTimeEstimate | null {
    return estimateReplyTime(this.windows.get(participant) ?? EMPTY_REPLY_TIMES, percentile, this.config.REPLY_TIME_MIN_SAMPLES);
  }

  private observe(participant: string, ms: number): void {
    const window = this.windows.get(participant) ?? EMPTY_REPLY_TIMES;
    this.windows.set(participant, observeReplyTime(window, ms, this.config.REPLY_TIME_WINDOW));
  }
}

/** A policy as a label: `p99x2:200-5000ms`. */
function policyKey({ percentile, factor, minMs, maxMs }: EffectiveAdaptiveTimeout): string {
  return `p${percentile}x${factor}:${minMs}-${maxMs}ms`;
}
