import { Counter, Histogram } from 'prom-client';
import { awaitedAttempt, Effect, ResolvedDefinition, StepDefinition, TransactionState } from '../engine';

const ENDED = new Set(['completed', 'compensated', 'failed']);

/** Where committed decisions are counted; labels go through the bounding functions. */
export interface CommittedDecisionMetrics {
  definition(name: string): string;
  participant(name: string): string;
  started: Counter<'definition' | 'type'>;
  ended: Counter<'definition' | 'type' | 'status'>;
  stepDuration: Histogram<'participant' | 'phase' | 'outcome'>;
  timeouts: Counter<'participant' | 'phase'>;
  retries: Counter<'participant' | 'phase'>;
  holds: Counter<'participant' | 'reason'>;
  undeliverable: Counter<'participant' | 'phase'>;
}

/** One transaction's decisions in a database transaction that committed. */
export interface ObservedDecision {
  readonly record: {
    readonly definitionName: string;
    readonly type: string;
    readonly layout: readonly Pick<StepDefinition, 'id' | 'participant'>[];
    /** The state before these decisions: it dates the attempts they answer. */
    readonly state: TransactionState;
  };
  readonly effects: readonly Effect[];
  readonly now: number;
  /** The pinned definition when at hand: its step timeouts date the attempts answered. */
  readonly definition?: ResolvedDefinition;
}

/** Counts what the history events of committed decisions say happened. */
export function observeCommitted(metrics: CommittedDecisionMetrics, decisions: readonly ObservedDecision[]): void {
  for (const { record, effects, now, definition } of decisions) {
    const tx = { definition: metrics.definition(record.definitionName), type: record.type };
    const participantOf = new Map(record.layout.map((s) => [s.id, s.participant]));
    const participant = (stepId: string) => metrics.participant(participantOf.get(stepId) ?? 'unknown');
    for (const effect of effects) {
      if (effect.kind !== 'record') continue;
      const { event } = effect;
      switch (event.type) {
        case 'transaction.started':
          metrics.started.inc(tx);
          break;
        case 'transaction.status_changed':
          if (ENDED.has(event.to)) metrics.ended.inc({ ...tx, status: event.to });
          break;
        case 'step.replied': {
          // Null when the state does not show that attempt awaited (it was sent in this same batch).
          const attempt = definition && awaitedAttempt(record.state, definition, event);
          if (attempt) {
            const labels = { participant: participant(event.stepId), phase: event.phase, outcome: event.outcome };
            metrics.stepDuration.observe(labels, Math.max(0, now - attempt.sentAt) / 1000);
          }
          break;
        }
        case 'step.timed_out':
          metrics.timeouts.inc({ participant: participant(event.stepId), phase: event.phase });
          break;
        case 'step.retry_scheduled':
          metrics.retries.inc({ participant: participant(event.stepId), phase: event.phase });
          break;
        case 'step.held':
          metrics.holds.inc({ participant: metrics.participant(event.participant), reason: event.reason });
          break;
        case 'step.undeliverable':
          metrics.undeliverable.inc({ participant: participant(event.stepId), phase: event.phase });
          break;
      }
    }
  }
}
