import { freshAttempts, sendAttempt } from '../attempts/attempts';
import { resolveDefinition } from '../definition/definition';
import { ADMIT_ALL } from '../test/saga-harness';
import { NO_REPLY_TIMES } from '../test/machine-harness';
import { draftOf, setStatus, updateStep } from './draft';
import { DecideContext, Gate } from './inputs';
import { StepState, TransactionState } from './transaction-state';
import { dispatchAttempt } from './dispatch';
import { reopen, startTransaction } from './lifecycle';
import { scheduleRetry } from './phases';
import { ignoredReplyReason } from './replies';
import { dueSteps, recordTimeout } from './timers';

const step = (overrides: Partial<StepState> = {}): StepState => ({
  ...freshAttempts('execute', 2),
  status: 'pending',
  output: null,
  lastError: null,
  ...overrides,
});

const state = (steps: Record<string, StepState>, overrides: Partial<TransactionState> = {}): TransactionState => ({
  status: 'running',
  paused: null,
  startedAt: 0,
  deadline: null,
  rollback: null,
  steps,
  ...overrides,
});

const ctx: DecideContext = {
  definition: resolveDefinition({
    name: 'n',
    type: 'saga',
    timeoutMs: 500,
    steps: [{ id: 'a', participant: 'p', action: 'x' }],
  }),
  input: {},
  now: 1_000,
  random: () => 0,
  gate: ADMIT_ALL,
  replyTimes: NO_REPLY_TIMES,
};
const policy = { maxAttempts: 2, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1000, jitter: 'none' } as const;

describe('transaction transitions', () => {
  it('starts the deadline clock', () => {
    const started = startTransaction(draftOf(state({}, { startedAt: null })), 'ann', ctx);
    expect(started.state).toMatchObject({ startedAt: 1_000, deadline: 1_500 });
    expect(started.effects).toEqual([{ kind: 'record', event: { type: 'transaction.started', deadline: 1_500, actor: 'ann' } }]);
  });

  it('dispatches an attempt: the step waits for its reply, the command and the history record it', () => {
    const draft = dispatchAttempt(
      draftOf(state({ a: step({ status: 'running' }) })),
      'a',
      { participant: 'p', action: 'x', input: { k: 1 }, timeoutMs: 300, adaptive: false },
      ctx,
    );
    expect(draft.state.steps.a).toMatchObject({ attempt: 1, waitingFor: 'reply', dueAt: 1_300 });
    expect(draft.effects).toEqual([
      { kind: 'record', event: { type: 'step.dispatched', stepId: 'a', phase: 'execute', attempt: 1, deadline: 1_300 } },
      {
        kind: 'send',
        stepId: 'a',
        participant: 'p',
        phase: 'execute',
        action: 'x',
        attempt: 1,
        input: { k: 1 },
        deadline: 1_300,
      },
    ]);
  });

  it('holds a step the gate refuses: no command, no attempt used, tried again at the retry time', () => {
    const refuse = (retryAt: number): DecideContext => ({
      ...ctx,
      gate: { admit: () => ({ admitted: false, reason: 'circuit_open', retryAt }) },
    });
    const dispatch = { participant: 'p', action: 'x', input: {}, timeoutMs: 300, adaptive: false };
    const held = dispatchAttempt(draftOf(state({ a: step({ status: 'running' }) })), 'a', dispatch, refuse(1_500));
    expect(held.state.steps.a).toMatchObject({ attempt: 0, attemptsLeft: 2, waitingFor: 'hold', dueAt: 1_500 });
    expect(held.effects).toEqual([
      {
        kind: 'record',
        event: { type: 'step.held', stepId: 'a', phase: 'execute', participant: 'p', reason: 'circuit_open', until: 1_500 },
      },
    ]);
    // Held again: only the retry time moves; the history already holds the hold's start.
    const again = dispatchAttempt(draftOf(held.state), 'a', dispatch, refuse(2_000));
    expect(again.state.steps.a).toMatchObject({ attempt: 0, waitingFor: 'hold', dueAt: 2_000 });
    expect(again.effects).toEqual([]);
    expect(dispatchAttempt(draftOf(again.state), 'a', dispatch, ctx).state.steps.a).toMatchObject({
      attempt: 1,
      waitingFor: 'reply',
    });
  });

  it('asks the gate about the participant of the command, once per command', () => {
    const asked: string[] = [];
    const gate: Gate = {
      admit: (participant) => {
        asked.push(participant);
        return { admitted: true };
      },
    };
    const dispatch = { participant: 'inventory', action: 'x', input: {}, timeoutMs: 300, adaptive: false };
    dispatchAttempt(draftOf(state({ a: step({ status: 'running' }) })), 'a', dispatch, { ...ctx, gate });
    expect(asked).toEqual(['inventory']);
  });

  it('schedules retries until the budget is spent', () => {
    const first = draftOf(state({ a: step(sendAttempt(step(), 300, 0)) }));
    const retried = scheduleRetry(first, 'a', policy, ctx);
    expect(retried?.state.steps.a).toMatchObject({ waitingFor: 'backoff', dueAt: 1_100 });
    const spent = draftOf(state({ a: step(sendAttempt(sendAttempt(step(), 300, 0), 300, 0)) }));
    expect(scheduleRetry(spent, 'a', policy, ctx)).toBeNull();
  });

  it('records a timeout and describes it as an error', () => {
    const [draft, error] = recordTimeout(draftOf(state({ a: step(sendAttempt(step(), 300, 0)) })), 'a', 300);
    expect(error.code).toBe('TIMEOUT');
    expect(draft.effects).toEqual([{ kind: 'record', event: { type: 'step.timed_out', stepId: 'a', phase: 'execute', attempt: 1 } }]);
  });

  it('tells why a reply does not count', () => {
    const waiting = state({ a: step(sendAttempt(step(), 300, 0)) });
    const reply = { stepId: 'a', phase: 'execute', attempt: 1, outcome: 'success' } as const;
    expect(ignoredReplyReason(waiting, reply)).toBeNull();
    expect(ignoredReplyReason(waiting, { ...reply, stepId: 'toString' })).toBe('unknown_step');
    expect(ignoredReplyReason({ ...waiting, status: 'completed' }, reply)).toBe('transaction_finished');
  });

  it('lists due steps earliest first', () => {
    const steps = { a: step({ dueAt: 30 }), b: step({ dueAt: 10 }), c: step({ dueAt: 50 }), d: step() };
    expect(dueSteps(state(steps), ['a', 'b', 'c', 'd'], 30)).toEqual(['b', 'a']);
  });

  it('reopens a failed transaction in the direction it was going', () => {
    const failed = state({}, { status: 'failed' });
    expect(reopen(draftOf(failed)).state.status).toBe('running');
    expect(reopen(draftOf({ ...failed, rollback: { kind: 'deadline' } })).state.status).toBe('compensating');
    const running = draftOf(state({}));
    expect(reopen(running)).toBe(running);
  });
});

describe('draft', () => {
  it('records a step status change, and only a change', () => {
    const draft = draftOf(state({ a: step() }));
    expect(updateStep(draft, 'a', { status: 'running' }).effects).toEqual([
      { kind: 'record', event: { type: 'step.status_changed', stepId: 'a', from: 'pending', to: 'running' } },
    ]);
    expect(updateStep(draft, 'a', { dueAt: 5 }).effects).toEqual([]);
  });

  it('keeps the rollback cause on the state and in the history', () => {
    const cause = { kind: 'aborted', actor: 'ann' } as const;
    const rolled = setStatus(draftOf(state({})), 'compensating', cause);
    expect(rolled.state).toMatchObject({ status: 'compensating', rollback: cause });
    expect(rolled.effects).toEqual([{ kind: 'record', event: { type: 'transaction.status_changed', from: 'running', to: 'compensating', cause } }]);
  });
});
