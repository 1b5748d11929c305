import { nextDueAt } from './saga-machine';
import { ADMIT_ALL, SagaRun, sagaDefinition, sendsOf, TestOptions, TestStep } from '../test/saga-harness';
import { Gate, HoldReason } from '../transaction/inputs';

const chain = sagaDefinition([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] }]);
const diamond = sagaDefinition([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['a'] }, { id: 'd', dependsOn: ['b', 'c'] }]);

const run = (steps: readonly TestStep[], options?: TestOptions, input = {}) => new SagaRun(sagaDefinition(steps, options), input).start();

const statuses = (saga: SagaRun) => Object.fromEntries(Object.entries(saga.state.steps).map(([id, s]) => [id, s.status]));

describe('saga machine', () => {
  describe('start', () => {
    it('dispatches every root step in parallel, each attempt with its timeout as deadline', () => {
      const saga = run([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a'] }], { timeoutMs: 30_000 }, { sku: 'X' });
      expect(saga.sent).toEqual(['execute:a#1', 'execute:b#1']);
      expect(sendsOf(saga.effects)[0]).toEqual({
        kind: 'send',
        stepId: 'a',
        participant: 'svc',
        phase: 'execute',
        action: 'do-a',
        attempt: 1,
        input: { sku: 'X' },
        deadline: saga.now + 1000,
      });
      expect(saga.state).toMatchObject({ status: 'running', startedAt: saga.now, deadline: saga.now + 30_000 });
      expect(saga.history[0]).toEqual({ type: 'transaction.started', deadline: saga.now + 30_000, actor: 'ann' });
    });

    it('happens once, and nothing else happens before it', () => {
      const saga = new SagaRun(chain);
      expect(saga.apply({ type: 'timer' })).toMatchObject({ accepted: false, rejection: { code: 'not_started' } });
      saga.start();
      expect(saga.apply({ type: 'started', actor: 'ann' })).toMatchObject({ accepted: false, rejection: { code: 'already_started' } });
    });
  });

  describe('forward', () => {
    it('runs a step once all its dependencies succeeded, with its mapped input', () => {
      const definition = sagaDefinition([
        { id: 'a' },
        { id: 'b', dependsOn: ['a'] },
        { id: 'c', dependsOn: ['a'] },
        { id: 'd', dependsOn: ['b', 'c'], input: { fromB: '$.steps.b.output.v', sku: '$.input.sku' } },
      ]);
      const saga = new SagaRun(definition, { sku: 'X' }).start();
      saga.reply('a', 'success');
      expect(saga.sent).toEqual(['execute:b#1', 'execute:c#1']);
      saga.reply('b', 'success', { output: { v: 7 } });
      expect(saga.sent).toEqual([]);
      saga.reply('c', 'success');
      expect(sendsOf(saga.effects)).toMatchObject([{ stepId: 'd', input: { fromB: 7, sku: 'X' } }]);
    });

    it('completes when every step succeeded, recording every transition', () => {
      const saga = new SagaRun(chain).start();
      saga.reply('a', 'success');
      saga.reply('b', 'success');
      saga.reply('c', 'success', { output: { done: true } });
      expect(saga.state.status).toBe('completed');
      expect(saga.step('c')).toMatchObject({ status: 'succeeded', output: { done: true }, waitingFor: null });
      expect(saga.history).toEqual([
        { type: 'step.replied', stepId: 'c', phase: 'execute', attempt: 1, outcome: 'success' },
        { type: 'step.status_changed', stepId: 'c', from: 'running', to: 'succeeded' },
        { type: 'transaction.status_changed', from: 'running', to: 'completed' },
      ]);
      expect(nextDueAt(saga.state, chain)).toBeNull();
    });

    it('retries a retry reply with backoff, sending the next attempt when it is due', () => {
      const saga = new SagaRun(chain).start();
      saga.reply('a', 'retry', { error: { code: 'BUSY', message: 'later' } });
      expect(saga.sent).toEqual([]);
      expect(saga.step('a')).toMatchObject({ status: 'running', waitingFor: 'backoff', dueAt: saga.now + 100 });
      expect(saga.step('a').lastError).toEqual({ code: 'BUSY', message: 'later' });
      expect(saga.history).toContainEqual({
        type: 'step.retry_scheduled',
        stepId: 'a',
        phase: 'execute',
        attempt: 2,
        dueAt: saga.now + 100,
      });
      saga.after(99);
      expect(saga.effects).toEqual([]);
      saga.after(1);
      expect(saga.sent).toEqual(['execute:a#2']);
      saga.reply('a', 'retry');
      expect(saga.step('a').dueAt).toBe(saga.now + 200);
    });

    it('counts a missing reply past the timeout as retry', () => {
      const saga = new SagaRun(chain).start();
      saga.after(1000);
      expect(saga.history).toContainEqual({ type: 'step.timed_out', stepId: 'a', phase: 'execute', attempt: 1 });
      expect(saga.step('a')).toMatchObject({ waitingFor: 'backoff', lastError: { code: 'TIMEOUT' } });
      saga.untilDue();
      expect(saga.sent).toEqual(['execute:a#2']);
    });

    it('rolls back once the attempts are spent, compensating the step that may have run', () => {
      const saga = run([{ id: 'a' }, { id: 'b', retry: { maxAttempts: 2 } }]);
      saga.reply('a', 'success');
      saga.reply('b', 'retry');
      saga.untilDue();
      saga.reply('b', 'retry');
      expect(saga.state).toMatchObject({ status: 'compensating', rollback: { kind: 'step_failed', stepId: 'b' } });
      expect(saga.sent).toEqual(['compensate:a#1', 'compensate:b#1']);
    });
  });

  describe('rollback', () => {
    it('compensates in reverse dependency order, the failed step included', () => {
      const saga = new SagaRun(chain).start();
      saga.reply('a', 'success');
      saga.reply('b', 'success');
      saga.reply('c', 'failure', { error: { code: 'NO', message: 'refused' } });
      expect(saga.state.status).toBe('compensating');
      expect(saga.sent).toEqual(['compensate:c#1']);
      expect(sendsOf(saga.effects)[0]).toMatchObject({ action: 'undo-c' });
      saga.reply('c', 'success');
      expect(saga.sent).toEqual(['compensate:b#1']);
      saga.reply('b', 'success');
      expect(saga.sent).toEqual(['compensate:a#1']);
      saga.reply('a', 'success');
      expect(saga.state.status).toBe('compensated');
      expect(statuses(saga)).toEqual({ a: 'compensated', b: 'compensated', c: 'compensated' });
    });

    it('skips steps never sent and compensates independent branches in parallel', () => {
      const saga = new SagaRun(diamond).start();
      saga.reply('a', 'success');
      saga.reply('b', 'success');
      saga.reply('c', 'failure');
      expect(statuses(saga)).toMatchObject({ d: 'skipped', c: 'compensating', b: 'compensating', a: 'succeeded' });
      expect(saga.sent).toEqual(['compensate:b#1', 'compensate:c#1']);
      saga.reply('b', 'success');
      expect(saga.sent).toEqual([]);
      saga.reply('c', 'success');
      expect(saga.sent).toEqual(['compensate:a#1']);
    });

    it('waits for a step still in flight, then compensates it whatever it answers', () => {
      for (const outcome of ['success', 'failure', 'retry'] as const) {
        const saga = run([{ id: 'a' }, { id: 'b' }]);
        saga.reply('a', 'failure');
        expect(saga.sent).toEqual(['compensate:a#1']);
        expect(saga.step('b')).toMatchObject({ status: 'running', waitingFor: 'reply' });
        saga.reply('b', outcome);
        expect(saga.sent).toEqual(['compensate:b#1']);
      }
    });

    it('compensates a step in flight that times out, without retrying its execute', () => {
      const saga = run([{ id: 'a' }, { id: 'b' }]);
      saga.reply('a', 'failure');
      saga.after(1000);
      expect(saga.sent).toEqual(['compensate:b#1']);
    });

    it('stops the retries of a step waiting for backoff and compensates it at once', () => {
      const saga = run([{ id: 'a' }, { id: 'b' }]);
      saga.reply('b', 'retry');
      saga.reply('a', 'failure');
      expect(saga.sent).toEqual(['compensate:a#1', 'compensate:b#1']);
    });

    it('retries a compensation on any outcome but success, then gives up and fails', () => {
      const saga = run([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }], { retry: { maxAttempts: 2 } });
      saga.reply('a', 'success');
      saga.reply('b', 'failure');
      saga.reply('b', 'failure');
      expect(saga.step('b')).toMatchObject({ status: 'compensating', waitingFor: 'backoff' });
      saga.untilDue();
      expect(saga.sent).toEqual(['compensate:b#2']);
      saga.after(1000);
      expect(saga.step('b').status).toBe('compensation_failed');
      expect(saga.step('a').status).toBe('succeeded');
      expect(saga.state.status).toBe('failed');
      expect(nextDueAt(saga.state, saga.definition)).toBeNull();
    });

    it('fails only once nothing else can progress', () => {
      const saga = run([{ id: 'a', retry: { maxAttempts: 1 } }, { id: 'b' }]);
      saga.reply('a', 'success');
      saga.reply('b', 'failure');
      saga.reply('a', 'failure');
      expect(saga.step('a').status).toBe('compensation_failed');
      expect(saga.state.status).toBe('compensating');
      saga.reply('b', 'success');
      expect(saga.state.status).toBe('failed');
    });
  });

  describe('replies that do not count', () => {
    it('ignores replies to another attempt or phase, duplicates and unknown steps, changing nothing', () => {
      const saga = new SagaRun(chain).start();
      saga.reply('a', 'retry');
      saga.untilDue();
      const before = saga.state;
      const ignored = [
        { stepId: 'a', phase: 'execute', attempt: 1, reason: 'attempt_mismatch' },
        { stepId: 'a', phase: 'compensate', attempt: 2, reason: 'phase_mismatch' },
        { stepId: '__proto__', phase: 'execute', attempt: 1, reason: 'unknown_step' },
      ] as const;
      for (const { reason, ...reply } of ignored) {
        const decision = saga.apply({ type: 'reply', outcome: 'success', ...reply });
        expect(decision).toEqual({
          accepted: true,
          state: before,
          effects: [{ kind: 'record', event: { type: 'step.reply_ignored', outcome: 'success', reason, ...reply } }],
        });
      }
      saga.reply('a', 'success');
      expect(saga.reply('a', 'failure', { attempt: 2 })).toMatchObject({
        effects: [{ event: { type: 'step.reply_ignored', reason: 'not_awaited' } }],
      });
      expect(saga.step('a').status).toBe('succeeded');
    });

    it('ignores replies once the transaction is finished', () => {
      const saga = run([{ id: 'a' }]);
      saga.reply('a', 'success');
      expect(saga.reply('a', 'failure', { attempt: 1 })).toMatchObject({
        effects: [{ event: { reason: 'transaction_finished' } }],
      });
    });
  });

  describe('deadline', () => {
    it('rolls back when it passes, and is part of the next due time while it can act', () => {
      const saga = run([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }], { timeoutMs: 1500, stepTimeoutMs: 60_000 });
      expect(nextDueAt(saga.state, saga.definition)).toBe(saga.now + 1500);
      saga.reply('a', 'success');
      saga.untilDue();
      expect(saga.state).toMatchObject({ status: 'compensating', rollback: { kind: 'deadline' } });
      expect(saga.step('b').waitingFor).toBe('reply');
      saga.reply('b', 'success');
      expect(saga.sent).toEqual(['compensate:b#1']);
    });

    it('does not stop compensation', () => {
      const saga = run([{ id: 'a' }], { timeoutMs: 500 });
      saga.reply('a', 'failure');
      saga.after(10_000);
      expect(saga.step('a')).toMatchObject({ status: 'compensating', waitingFor: 'backoff' });
      saga.untilDue();
      saga.reply('a', 'success');
      expect(saga.state.status).toBe('compensated');
    });
  });

  describe('operator abort', () => {
    it('rolls a running transaction back, recording who did it', () => {
      const saga = run([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }]);
      saga.reply('a', 'success');
      const decision = saga.apply({ type: 'abort', actor: 'alice', reason: 'customer called' });
      expect(decision.accepted).toBe(true);
      expect(saga.history.slice(0, 2)).toEqual([
        { type: 'operator.aborted', actor: 'alice', reason: 'customer called' },
        {
          type: 'transaction.status_changed',
          from: 'running',
          to: 'compensating',
          cause: { kind: 'aborted', actor: 'alice' },
        },
      ]);
      saga.reply('b', 'success');
      saga.reply('b', 'success');
      expect(saga.sent).toEqual(['compensate:a#1']);
    });

    it('is refused unless the transaction is running', () => {
      const saga = run([{ id: 'a' }]);
      saga.reply('a', 'failure');
      const refused = { accepted: false, rejection: { code: 'not_running' } };
      expect(saga.apply({ type: 'abort', actor: 'alice' })).toMatchObject(refused);
      saga.reply('a', 'success');
      expect(saga.state.status).toBe('compensated');
      expect(saga.apply({ type: 'abort', actor: 'alice' })).toMatchObject(refused);
    });
  });

  describe('pivot (step without compensation)', () => {
    const withPivot: TestStep[] = [{ id: 'a' }, { id: 'p', pivot: true }, { id: 'b', dependsOn: ['a'] }, { id: 'after', dependsOn: ['p'] }];

    it('runs alone, after every compensatable step it can wait for', () => {
      const saga = run(withPivot);
      expect(saga.sent).toEqual(['execute:a#1']);
      saga.reply('a', 'success');
      expect(saga.sent).toEqual(['execute:b#1']);
      saga.reply('b', 'success');
      expect(saga.sent).toEqual(['execute:p#1']);
    });

    it('commits the saga when it succeeds: later failures stop it as failed, without compensation', () => {
      const saga = run(withPivot, { timeoutMs: 60_000 });
      saga.reply('a', 'success');
      saga.reply('b', 'success');
      saga.reply('p', 'success');
      expect(saga.history).toContainEqual({ type: 'transaction.committed', stepId: 'p' });
      expect(nextDueAt(saga.state, saga.definition)).toBe(saga.step('after').dueAt);
      expect(saga.apply({ type: 'abort', actor: 'alice' })).toMatchObject({
        rejection: { code: 'past_point_of_no_return' },
      });
      saga.reply('after', 'failure');
      expect(saga.state).toMatchObject({ status: 'failed', rollback: null });
      expect(statuses(saga)).toEqual({ a: 'succeeded', p: 'succeeded', b: 'succeeded', after: 'failed' });
    });

    it('lets the deadline pass without effect once committed', () => {
      const saga = run(
        [
          { id: 'p', pivot: true },
          { id: 'b', dependsOn: ['p'] },
        ],
        { timeoutMs: 500 },
      );
      saga.reply('p', 'success');
      saga.after(10_000);
      expect(saga.state.status).toBe('running');
      expect(saga.step('b')).toMatchObject({ waitingFor: 'backoff' });
    });

    it('rolls back without compensating itself when it replies failure', () => {
      const saga = run(withPivot);
      saga.reply('a', 'success');
      saga.reply('b', 'success');
      saga.reply('p', 'failure');
      expect(saga.sent).toEqual(['compensate:b#1']);
      saga.reply('b', 'success');
      saga.reply('a', 'success');
      expect(statuses(saga)).toEqual({ a: 'compensated', p: 'failed', b: 'compensated', after: 'skipped' });
      expect(saga.state.status).toBe('compensated');
    });

    it('defers abort and deadline while it is in flight', () => {
      const saga = run([{ id: 'p', pivot: true }], { timeoutMs: 500, stepTimeoutMs: 400 });
      expect(saga.apply({ type: 'abort', actor: 'alice' })).toMatchObject({ rejection: { code: 'pivot_in_flight' } });
      expect(nextDueAt(saga.state, saga.definition)).toBe(saga.now + 400);
      saga.after(400);
      saga.after(500);
      expect(saga.state.status).toBe('running');
      saga.reply('p', 'failure');
      expect(saga.state).toMatchObject({ status: 'compensated', rollback: { kind: 'step_failed', stepId: 'p' } });
    });

    describe('in doubt (attempts spent)', () => {
      const inDoubt = (): SagaRun => {
        const saga = run([{ id: 'a' }, { id: 'p', pivot: true, dependsOn: ['a'] }, { id: 'c', dependsOn: ['p'] }], {
          retry: { maxAttempts: 1 },
        });
        saga.reply('a', 'success');
        saga.after(1000);
        return saga;
      };

      it('stops the transaction as failed, compensating nothing', () => {
        const saga = inDoubt();
        expect(saga.state).toMatchObject({ status: 'failed', rollback: null });
        expect(statuses(saga)).toEqual({ a: 'succeeded', p: 'failed', c: 'pending' });
        expect(saga.sent).toEqual([]);
      });

      it('is re-driven by an operator retry with a fresh budget', () => {
        const saga = inDoubt();
        saga.apply({ type: 'retry', actor: 'bob' });
        expect(saga.history[0]).toEqual({ type: 'operator.retried', actor: 'bob', stepIds: ['p'] });
        expect(saga.sent).toEqual(['execute:p#2']);
        expect(saga.state.status).toBe('running');
        saga.reply('p', 'success');
        saga.reply('c', 'success');
        expect(saga.state.status).toBe('completed');
      });

      it('moves forward when resolved as succeeded', () => {
        const saga = inDoubt();
        saga.apply({ type: 'resolve', stepId: 'p', outcome: 'succeeded', note: 'checked', actor: 'bob' });
        expect(saga.history).toContainEqual({ type: 'transaction.committed', stepId: 'p' });
        expect(saga.sent).toEqual(['execute:c#1']);
      });

      it('rolls back when resolved as compensated (it had no effect)', () => {
        const saga = inDoubt();
        saga.apply({ type: 'resolve', stepId: 'p', outcome: 'compensated', note: 'nothing shipped', actor: 'bob' });
        expect(saga.history[0]).toEqual({
          type: 'operator.resolved',
          stepId: 'p',
          outcome: 'compensated',
          note: 'nothing shipped',
          actor: 'bob',
        });
        expect(statuses(saga)).toEqual({ a: 'compensating', p: 'compensated', c: 'skipped' });
        expect(saga.sent).toEqual(['compensate:a#1']);
      });
    });
  });

  describe('operator retry', () => {
    const failedCompensation = (): SagaRun => {
      const saga = run([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }], { retry: { maxAttempts: 1 } });
      saga.reply('a', 'success');
      saga.reply('b', 'failure');
      saga.reply('b', 'failure');
      return saga;
    };

    it('re-drives failed compensations with a fresh budget and new attempt numbers', () => {
      const saga = failedCompensation();
      expect(saga.state.status).toBe('failed');
      saga.apply({ type: 'retry', actor: 'bob' });
      expect(saga.state.status).toBe('compensating');
      expect(saga.sent).toEqual(['compensate:b#2']);
      expect(saga.reply('b', 'success', { attempt: 1 }).accepted).toBe(true);
      expect(saga.step('b').status).toBe('compensating');
      saga.reply('b', 'success');
      expect(saga.sent).toEqual(['compensate:a#1']);
      saga.reply('a', 'success');
      expect(saga.state.status).toBe('compensated');
    });

    it('is refused unless the transaction failed', () => {
      const saga = run([{ id: 'a' }]);
      expect(saga.apply({ type: 'retry', actor: 'bob' })).toMatchObject({ rejection: { code: 'not_failed' } });
    });
  });

  describe('operator resolve', () => {
    it('lets a failed compensation count as done, and the rollback proceeds', () => {
      const saga = run([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }], { retry: { maxAttempts: 1 } });
      saga.reply('a', 'success');
      saga.reply('b', 'failure');
      saga.reply('b', 'failure');
      saga.apply({ type: 'resolve', stepId: 'b', outcome: 'compensated', note: 'refunded by hand', actor: 'bob' });
      expect(saga.state.status).toBe('compensating');
      expect(saga.sent).toEqual(['compensate:a#1']);
    });

    it('lets a stuck forward step count as succeeded after the commit', () => {
      const saga = run([
        { id: 'p', pivot: true },
        { id: 'b', dependsOn: ['p'] },
        { id: 'c', dependsOn: ['b'] },
      ]);
      saga.reply('p', 'success');
      saga.reply('b', 'failure');
      expect(saga.apply({ type: 'resolve', stepId: 'b', outcome: 'compensated', note: '', actor: 'bob' })).toMatchObject({
        rejection: { code: 'past_point_of_no_return' },
      });
      saga.apply({ type: 'resolve', stepId: 'b', outcome: 'succeeded', note: 'done by hand', actor: 'bob' });
      expect(saga.sent).toEqual(['execute:c#1']);
      saga.reply('c', 'success');
      expect(saga.state.status).toBe('completed');
    });

    it('refuses unknown steps, steps that are not stuck and outcomes that do not apply', () => {
      const saga = run([{ id: 'a', retry: { maxAttempts: 1 } }]);
      const resolve = (stepId: string, outcome: 'compensated' | 'succeeded') =>
        saga.apply({ type: 'resolve', stepId, outcome, note: '', actor: 'bob' });
      expect(resolve('ghost', 'succeeded')).toMatchObject({ rejection: { code: 'unknown_step' } });
      expect(resolve('a', 'succeeded')).toMatchObject({ rejection: { code: 'step_not_stuck' } });
      saga.reply('a', 'failure');
      saga.reply('a', 'failure');
      expect(saga.step('a').status).toBe('compensation_failed');
      expect(resolve('a', 'succeeded')).toMatchObject({ rejection: { code: 'outcome_not_applicable' } });
    });
  });

  describe('holds (the gate refuses a command)', () => {
    const HOLD_MS = 500;
    /** Answers the next commands from `verdicts` (true: admit), then admits every one. */
    const gateOf = (saga: SagaRun, verdicts: boolean[], reason: HoldReason = 'circuit_open'): Gate => {
      const queue = [...verdicts];
      return {
        admit: () => ((queue.shift() ?? true) ? { admitted: true } : { admitted: false, reason, retryAt: saga.now + HOLD_MS }),
      };
    };
    const twoInChain: TestStep[] = [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }];
    const refuseAll = (saga: SagaRun): Gate => gateOf(saga, Array<boolean>(1000).fill(false), 'in_flight_limit');
    const runHeld = (steps: readonly TestStep[], verdicts: boolean[], options?: TestOptions): SagaRun => {
      const saga = new SagaRun(sagaDefinition(steps, options));
      saga.gate = gateOf(saga, verdicts);
      return saga.start();
    };

    it('holds a step without using an attempt, and sends it when the hold ends', () => {
      const saga = runHeld(twoInChain, [false]);
      expect(saga.sent).toEqual([]);
      expect(saga.step('a')).toMatchObject({ status: 'running', attempt: 0, attemptsLeft: 3, waitingFor: 'hold' });
      expect(saga.history.slice(1)).toEqual([
        { type: 'step.status_changed', stepId: 'a', from: 'pending', to: 'running' },
        { type: 'step.held', stepId: 'a', phase: 'execute', participant: 'svc', reason: 'circuit_open', until: saga.now + HOLD_MS },
      ]);
      expect(nextDueAt(saga.state, saga.definition)).toBe(saga.now + HOLD_MS);
      expect(saga.reply('a', 'success', { attempt: 0 })).toMatchObject({ effects: [{ event: { type: 'step.reply_ignored' } }] });
      saga.after(HOLD_MS - 1);
      expect(saga.effects).toEqual([]);
      saga.after(1);
      expect(saga.sent).toEqual(['execute:a#1']);
    });

    it('holds a step again quietly while the gate keeps refusing', () => {
      const saga = runHeld(twoInChain, [false]);
      saga.gate = refuseAll(saga);
      saga.after(HOLD_MS);
      expect(saga.effects).toEqual([]);
      expect(saga.step('a')).toMatchObject({ attempt: 0, waitingFor: 'hold', dueAt: saga.now + HOLD_MS });
      saga.gate = ADMIT_ALL;
      saga.untilDue();
      expect(saga.sent).toEqual(['execute:a#1']);
    });

    it('holds a retry after its backoff', () => {
      const saga = runHeld([{ id: 'a' }], [true, false]);
      saga.reply('a', 'retry');
      saga.untilDue();
      expect(saga.sent).toEqual([]);
      expect(saga.step('a')).toMatchObject({ attempt: 1, attemptsLeft: 2, waitingFor: 'hold' });
      saga.untilDue();
      expect(saga.sent).toEqual(['execute:a#2']);
    });

    it('skips a step held before its first attempt when the saga rolls back, and compensates the others', () => {
      const saga = runHeld([{ id: 'a' }, { id: 'b' }, { id: 'c' }], [true, true, false]);
      saga.reply('b', 'retry');
      saga.gate = refuseAll(saga);
      saga.untilDue();
      expect(saga.step('b')).toMatchObject({ attempt: 1, waitingFor: 'hold' });
      saga.gate = ADMIT_ALL;
      saga.reply('a', 'failure');
      expect(statuses(saga)).toEqual({ a: 'compensating', b: 'compensating', c: 'skipped' });
      expect(saga.sent).toEqual(['compensate:a#1', 'compensate:b#1']);
      expect(saga.step('c')).toMatchObject({ attempt: 0, waitingFor: null, dueAt: null });
    });

    it('rolls back a held step when the deadline passes', () => {
      const saga = runHeld([{ id: 'a' }], [false], { timeoutMs: 300 });
      saga.gate = refuseAll(saga);
      saga.after(300);
      expect(saga.state).toMatchObject({ status: 'compensated', rollback: { kind: 'deadline' } });
      expect(statuses(saga)).toEqual({ a: 'skipped' });
    });

    it('holds a compensation and sends it when the hold ends; the rollback waits for it', () => {
      const saga = runHeld([{ id: 'a' }], [true, false]);
      saga.reply('a', 'failure');
      expect(saga.step('a')).toMatchObject({ status: 'compensating', phase: 'compensate', attempt: 0, waitingFor: 'hold' });
      expect(saga.history).toContainEqual(expect.objectContaining({ type: 'step.held', phase: 'compensate' }));
      expect(saga.state.status).toBe('compensating');
      saga.untilDue();
      expect(saga.sent).toEqual(['compensate:a#1']);
      saga.reply('a', 'success');
      expect(saga.state.status).toBe('compensated');
    });

    it('lets an abort roll back a pivot held before its first attempt, but not one whose attempt may have run', () => {
      const held = runHeld([{ id: 'p', pivot: true }], [false]);
      expect(held.apply({ type: 'abort', actor: 'alice' }).accepted).toBe(true);
      expect(held.state.status).toBe('compensated');
      expect(statuses(held)).toEqual({ p: 'skipped' });

      const inDoubt = runHeld([{ id: 'p', pivot: true }], [true, false]);
      inDoubt.after(1000);
      expect(inDoubt.step('p')).toMatchObject({ attempt: 1, waitingFor: 'backoff' });
      inDoubt.untilDue();
      expect(inDoubt.step('p')).toMatchObject({ attempt: 1, waitingFor: 'hold' });
      expect(inDoubt.apply({ type: 'abort', actor: 'alice' })).toMatchObject({ rejection: { code: 'pivot_in_flight' } });
    });
  });

  describe('nextDueAt', () => {
    it('is the earliest step due time, or the deadline if earlier', () => {
      const saga = run([{ id: 'a' }, { id: 'b' }], { timeoutMs: 5000 });
      saga.reply('a', 'retry');
      expect(nextDueAt(saga.state, saga.definition)).toBe(saga.now + 100);
      const late = run([{ id: 'a' }], { timeoutMs: 300 });
      expect(nextDueAt(late.state, late.definition)).toBe(late.now + 300);
    });
  });
});
