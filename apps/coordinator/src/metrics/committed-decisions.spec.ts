import { Counter, Histogram, Registry } from 'prom-client';
import { BoundedLabel, OTHER_LABEL } from '@ordo/platform';
import { Effect, HistoryEvent, resolveDefinition, TransactionState } from '../engine';
import { CommittedDecisionMetrics, observeCommitted, ObservedDecision } from './committed-decisions';

function metrics(participantLimit = 10): { metrics: CommittedDecisionMetrics; registry: Registry } {
  const registry = new Registry();
  const registers = [registry];
  const counter = <L extends string>(name: string, labelNames: L[]) => new Counter<L>({ name, help: name, labelNames, registers });
  const participants = new BoundedLabel(participantLimit);
  return {
    registry,
    metrics: {
      definition: (name) => name,
      participant: (name) => participants.of(name),
      started: counter('started', ['definition', 'type']),
      ended: counter('ended', ['definition', 'type', 'status']),
      stepDuration: new Histogram({ name: 'duration', help: 'd', labelNames: ['participant', 'phase', 'outcome'], buckets: [1], registers }),
      timeouts: counter('timeouts', ['participant', 'phase']),
      retries: counter('retries', ['participant', 'phase']),
      holds: counter('holds', ['participant', 'reason']),
      undeliverable: counter('undeliverable', ['participant', 'phase']),
    },
  };
}

const definition = resolveDefinition({
  name: 'flow',
  type: 'saga',
  steps: [
    { id: 'a', participant: 'shop', action: 'do', compensation: 'undo', timeoutMs: 5000 },
    { id: 'b', participant: 'bank', action: 'do', compensation: 'undo', timeoutMs: 5000 },
  ],
});

const step = (attempt: number, dueAt: number) =>
  ({ phase: 'execute', attempt, attemptsLeft: 2, waitingFor: 'reply', dueAt, status: 'running', output: null, lastError: null }) as const;

const state: TransactionState = {
  status: 'running',
  paused: null,
  startedAt: 0,
  deadline: null,
  rollback: null,
  steps: { a: step(1, 6000), b: step(2, 6000) },
};

const record = (...events: HistoryEvent[]): Effect[] => events.map((event) => ({ kind: 'record', event }));

const decision = (effects: Effect[]): ObservedDecision => ({
  record: {
    definitionName: 'flow',
    type: 'saga',
    layout: [
      { id: 'a', participant: 'shop' },
      { id: 'b', participant: 'bank' },
    ],
    state,
  },
  effects,
  now: 1500,
  definition,
});

const values = async (registry: Registry, name: string) => (await registry.getSingleMetric(name)!.get()).values;

describe('observeCommitted', () => {
  it('counts starts, ends, retries, timeouts and holds with their labels', async () => {
    const { metrics: m, registry } = metrics();
    observeCommitted(m, [
      decision(
        record(
          { type: 'transaction.started', deadline: null, actor: 'ann' },
          { type: 'transaction.status_changed', from: 'running', to: 'compensating' },
          { type: 'transaction.status_changed', from: 'compensating', to: 'compensated' },
          { type: 'step.retry_scheduled', stepId: 'a', phase: 'execute', attempt: 2, dueAt: 2000 },
          { type: 'step.timed_out', stepId: 'b', phase: 'execute', attempt: 2 },
          { type: 'step.held', stepId: 'b', phase: 'execute', participant: 'bank', reason: 'circuit_open', until: 3000 },
        ),
      ),
    ]);
    expect(await values(registry, 'started')).toEqual([{ labels: { definition: 'flow', type: 'saga' }, value: 1 }]);
    // Only the terminal statuses count as ends.
    expect(await values(registry, 'ended')).toEqual([{ labels: { definition: 'flow', type: 'saga', status: 'compensated' }, value: 1 }]);
    expect(await values(registry, 'retries')).toEqual([{ labels: { participant: 'shop', phase: 'execute' }, value: 1 }]);
    expect(await values(registry, 'timeouts')).toEqual([{ labels: { participant: 'bank', phase: 'execute' }, value: 1 }]);
    expect(await values(registry, 'holds')).toEqual([{ labels: { participant: 'bank', reason: 'circuit_open' }, value: 1 }]);
  });

  it('times a reply from when its attempt was sent: its timeout instant less the step timeout', async () => {
    const { metrics: m, registry } = metrics();
    observeCommitted(m, [
      decision(
        record(
          { type: 'step.replied', stepId: 'a', phase: 'execute', attempt: 1, outcome: 'success' },
          // Not the awaited attempt: not timed.
          { type: 'step.replied', stepId: 'b', phase: 'execute', attempt: 1, outcome: 'retry' },
        ),
      ),
    ]);
    const sums = (await values(registry, 'duration')).filter((v) => (v as { metricName?: string }).metricName === 'duration_sum');
    expect(sums).toEqual([expect.objectContaining({ labels: { participant: 'shop', phase: 'execute', outcome: 'success' }, value: 0.5 })]);
  });

  it('bounds participant labels', async () => {
    const { metrics: m, registry } = metrics(1);
    observeCommitted(m, [
      decision(
        record(
          { type: 'step.timed_out', stepId: 'a', phase: 'execute', attempt: 1 },
          { type: 'step.timed_out', stepId: 'b', phase: 'execute', attempt: 2 },
        ),
      ),
    ]);
    const labels = (await values(registry, 'timeouts')).map((v) => v.labels.participant);
    expect(labels).toEqual(['shop', OTHER_LABEL]);
  });
});
