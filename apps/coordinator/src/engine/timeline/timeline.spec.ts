import { HistoryEvent } from '../transaction/history';
import { sinceLastEnd, TimedEvent, timelineOf } from './timeline';

const at = (ms: number, event: HistoryEvent): TimedEvent => ({ at: ms, event });
const started = at(1000, { type: 'transaction.started', deadline: null, actor: 'tester' });

describe('timelineOf', () => {
  it('draws each attempt from dispatch to reply or timeout, with the backoff between', () => {
    const timeline = timelineOf([
      started,
      at(1001, { type: 'step.dispatched', stepId: 'charge', phase: 'execute', attempt: 1, deadline: 6001 }),
      at(6001, { type: 'step.timed_out', stepId: 'charge', phase: 'execute', attempt: 1 }),
      at(6001, { type: 'step.retry_scheduled', stepId: 'charge', phase: 'execute', attempt: 2, dueAt: 6101 }),
      at(6101, { type: 'step.dispatched', stepId: 'charge', phase: 'execute', attempt: 2, deadline: 11101 }),
      at(6150, { type: 'step.replied', stepId: 'charge', phase: 'execute', attempt: 2, outcome: 'retry' }),
      at(6150, { type: 'step.retry_scheduled', stepId: 'charge', phase: 'execute', attempt: 3, dueAt: 6350 }),
      at(6200, { type: 'step.dispatched', stepId: 'charge', phase: 'execute', attempt: 3, deadline: 11200 }),
      at(6230, { type: 'step.replied', stepId: 'charge', phase: 'execute', attempt: 3, outcome: 'success' }),
      at(6231, { type: 'transaction.status_changed', from: 'running', to: 'completed' }),
    ]);
    expect(timeline).toEqual({
      start: 1000,
      end: 6231,
      rows: [
        {
          stepId: 'charge',
          phase: 'execute',
          spans: [
            { kind: 'attempt', attempt: 1, start: 1001, end: 6001, outcome: 'timeout' },
            { kind: 'backoff', attempt: 2, start: 6001, end: 6101 },
            { kind: 'attempt', attempt: 2, start: 6101, end: 6150, outcome: 'retry' },
            // sent before its backoff was over (an operator's retry now): the wait ends then
            { kind: 'backoff', attempt: 3, start: 6150, end: 6200 },
            { kind: 'attempt', attempt: 3, start: 6200, end: 6230, outcome: 'success' },
          ],
        },
      ],
      marks: [
        { at: 1000, type: 'transaction.started' },
        { at: 6231, type: 'transaction.status_changed', detail: 'completed' },
      ],
    });
  });

  it('puts a compensation on its own row after the forward phases, with the refusal and its error', () => {
    const error = { code: 'OUT_OF_STOCK', message: 'none left' };
    const { rows } = timelineOf([
      started,
      at(1001, { type: 'step.dispatched', stepId: 'order', phase: 'execute', attempt: 1, deadline: 9000 }),
      at(1010, { type: 'step.replied', stepId: 'order', phase: 'execute', attempt: 1, outcome: 'success' }),
      at(1011, { type: 'step.dispatched', stepId: 'stock', phase: 'execute', attempt: 1, deadline: 9000 }),
      at(1020, { type: 'step.replied', stepId: 'stock', phase: 'execute', attempt: 1, outcome: 'failure', error }),
      at(1021, { type: 'step.dispatched', stepId: 'order', phase: 'compensate', attempt: 1, deadline: 9000 }),
    ]);
    expect(rows.map((r) => [r.stepId, r.phase, r.spans])).toEqual([
      ['order', 'execute', [{ kind: 'attempt', attempt: 1, start: 1001, end: 1010, outcome: 'success' }]],
      ['stock', 'execute', [{ kind: 'attempt', attempt: 1, start: 1011, end: 1020, outcome: 'failure', error }]],
      // still out: no end yet
      ['order', 'compensate', [{ kind: 'attempt', attempt: 1, start: 1021, end: null, outcome: null }]],
    ]);
  });

  it('shows a hold until the held command goes out, ignores late replies, and marks pauses and operators', () => {
    const timeline = timelineOf([
      started,
      at(1001, { type: 'step.held', stepId: 'charge', phase: 'execute', participant: 'payment', reason: 'transaction_paused' }),
      at(1001, { type: 'operator.paused', actor: 'ops' }),
      at(3000, { type: 'operator.resumed', actor: 'ops' }),
      at(3000, { type: 'step.dispatched', stepId: 'charge', phase: 'execute', attempt: 1, deadline: 8000 }),
      at(3500, { type: 'step.reply_ignored', stepId: 'charge', phase: 'execute', attempt: 7, outcome: 'success', reason: 'attempt_mismatch' }),
      at(4000, { type: 'step.held', stepId: 'other', phase: 'execute', participant: 'inventory', reason: 'circuit_open', until: 5000 }),
    ]);
    expect(timeline.rows).toEqual([
      {
        stepId: 'charge',
        phase: 'execute',
        spans: [
          { kind: 'hold', start: 1001, end: 3000, reason: 'transaction_paused' },
          { kind: 'attempt', attempt: 1, start: 3000, end: null, outcome: null },
        ],
      },
      { stepId: 'other', phase: 'execute', spans: [{ kind: 'hold', start: 4000, end: null, reason: 'circuit_open' }] },
    ]);
    expect(timeline.marks.map((m) => m.type)).toEqual(['transaction.started', 'operator.paused', 'operator.resumed']);
    expect(timeline.end).toBeNull();
  });

  it('runs again after a replay of an ended transaction, and ends again', () => {
    const history = [
      started,
      at(2000, { type: 'transaction.status_changed', from: 'compensating', to: 'failed' }),
      at(3000, { type: 'operator.retried', actor: 'ops', stepIds: ['order'] }),
      at(3000, { type: 'transaction.status_changed', from: 'failed', to: 'compensating' }),
    ] satisfies TimedEvent[];
    expect(timelineOf(history).end).toBeNull();
    expect(timelineOf(history.slice(0, 2)).end).toBe(2000);
  });
});

describe('sinceLastEnd', () => {
  const history: TimedEvent[] = [
    started,
    at(1500, { type: 'step.dispatched', stepId: 'a', phase: 'compensate', attempt: 1, deadline: 9000 }),
    at(2000, { type: 'transaction.status_changed', from: 'compensating', to: 'failed' }),
    at(3000, { type: 'transaction.status_changed', from: 'failed', to: 'compensating' }),
    at(3100, { type: 'step.dispatched', stepId: 'a', phase: 'compensate', attempt: 1, deadline: 9000 }),
    at(3200, { type: 'transaction.status_changed', from: 'compensating', to: 'compensated' }),
  ];

  it('is the whole history up to the first end', () => expect(sinceLastEnd(history, 2)).toEqual(history.slice(0, 3)));
  it('starts after the previous end for a later one', () => expect(sinceLastEnd(history, 5)).toEqual(history.slice(3, 6)));
});
