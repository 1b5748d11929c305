import { nextDueAt } from './tcc-machine';
import { ADMIT_ALL, sendsOf, TestOptions, TestStep } from '../test/machine-harness';
import { TccRun, tccDefinition } from '../test/tcc-harness';
import { Gate, HoldReason } from '../transaction/inputs';

const pair: TestStep[] = [{ id: 'a' }, { id: 'b' }];
const chain: TestStep[] = [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }];

const run = (steps: readonly TestStep[], options?: TestOptions, input = {}) => new TccRun(tccDefinition(steps, options), input).start();

const statuses = (tcc: TccRun) => Object.fromEntries(Object.entries(tcc.state.steps).map(([id, s]) => [id, s.status]));
const decided = (decision: 'commit' | 'abort') => ({ type: 'transaction.decided', decision });

/** Both steps tried; a confirm that runs out of attempts (budget 1) leaves `a` failed. */
const failedConfirm = (): TccRun => {
  const tcc = run(pair, { retry: { maxAttempts: 1 } });
  tcc.reply('a', 'success');
  tcc.reply('b', 'success');
  tcc.reply('a', 'failure');
  tcc.reply('b', 'success');
  return tcc;
};

/** `a` refused its try; `b`'s cancel runs out of attempts (budget 1). */
const failedCancel = (): TccRun => {
  const tcc = run(pair, { retry: { maxAttempts: 1 } });
  tcc.reply('a', 'failure');
  tcc.reply('b', 'success');
  tcc.reply('a', 'success');
  tcc.reply('b', 'retry');
  return tcc;
};

describe('tcc machine', () => {
  describe('try', () => {
    it('tries every root step in parallel with the transaction input', () => {
      const tcc = run([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a'] }], { timeoutMs: 30_000 }, { seat: '12A' });
      expect(tcc.sent).toEqual(['try:a#1', 'try:b#1']);
      expect(sendsOf(tcc.effects)[0]).toEqual({
        kind: 'send',
        stepId: 'a',
        participant: 'svc',
        phase: 'try',
        action: 'do-a',
        attempt: 1,
        input: { seat: '12A' },
        deadline: tcc.now + 1000,
      });
      expect(tcc.state).toMatchObject({ status: 'running', startedAt: tcc.now, deadline: tcc.now + 30_000 });
      expect(statuses(tcc)).toEqual({ a: 'running', b: 'running', c: 'pending' });
    });

    it('happens once, and nothing else happens before it', () => {
      const tcc = new TccRun(tccDefinition(pair));
      expect(tcc.apply({ type: 'timer' })).toMatchObject({ accepted: false, rejection: { code: 'not_started' } });
      tcc.start();
      expect(tcc.apply({ type: 'started', actor: 'ann' })).toMatchObject({ accepted: false, rejection: { code: 'already_started' } });
    });

    it('tries a step once the steps it depends on were tried, with its mapped input', () => {
      const tcc = run([{ id: 'a' }, { id: 'b', dependsOn: ['a'], input: { hold: '$.steps.a.output.holdId' } }]);
      expect(tcc.sent).toEqual(['try:a#1']);
      tcc.reply('a', 'success', { output: { holdId: 'h-1' } });
      expect(sendsOf(tcc.effects)).toMatchObject([{ stepId: 'b', phase: 'try', input: { hold: 'h-1' } }]);
      expect(statuses(tcc)).toEqual({ a: 'succeeded', b: 'running' });
    });

    it('retries a retry reply or a timeout with backoff', () => {
      const tcc = run(pair);
      tcc.reply('a', 'retry');
      expect(tcc.step('a')).toMatchObject({ status: 'running', waitingFor: 'backoff', dueAt: tcc.now + 100 });
      tcc.untilDue();
      expect(tcc.sent).toEqual(['try:a#2']);
      tcc.after(1000);
      expect(tcc.history).toContainEqual({ type: 'step.timed_out', stepId: 'a', phase: 'try', attempt: 2 });
      expect(tcc.step('a')).toMatchObject({ waitingFor: 'backoff', lastError: { code: 'TIMEOUT' } });
    });
  });

  describe('confirm', () => {
    it('confirms every step at once when all tries succeeded, with the action and input of the try', () => {
      const tcc = run(chain, { timeoutMs: 60_000 }, { seat: '12A' });
      tcc.reply('a', 'success');
      expect(tcc.sent).toEqual(['try:b#1']);
      tcc.reply('b', 'success');
      expect(tcc.sent).toEqual(['confirm:a#1', 'confirm:b#1']);
      expect(sendsOf(tcc.effects)[0]).toMatchObject({ action: 'do-a', input: { seat: '12A' } });
      expect(tcc.history).toContainEqual(decided('commit'));
      expect(tcc.history.findIndex((event) => event.type === 'transaction.decided')).toBeLessThan(
        tcc.history.findIndex((event) => event.type === 'step.dispatched'),
      );
      expect(statuses(tcc)).toEqual({ a: 'running', b: 'running' });
      expect(tcc.step('a').phase).toBe('confirm');
    });

    it('completes when every confirm succeeded', () => {
      const tcc = run(pair);
      tcc.reply('a', 'success', { output: { holdId: 'h-1' } });
      tcc.reply('b', 'success');
      tcc.reply('a', 'success');
      expect(tcc.state.status).toBe('running');
      tcc.reply('b', 'success');
      expect(tcc.state.status).toBe('completed');
      expect(statuses(tcc)).toEqual({ a: 'succeeded', b: 'succeeded' });
      expect(tcc.step('a').output).toEqual({ holdId: 'h-1' });
      expect(nextDueAt(tcc.state)).toBeNull();
    });

    it('retries a confirm on failure, retry and timeout', () => {
      const tcc = run(pair);
      tcc.reply('a', 'success');
      tcc.reply('b', 'success');
      tcc.reply('a', 'failure');
      expect(tcc.step('a')).toMatchObject({ status: 'running', phase: 'confirm', waitingFor: 'backoff' });
      tcc.untilDue();
      expect(tcc.sent).toEqual(['confirm:a#2']);
      tcc.after(1000);
      expect(tcc.sent).toEqual([]);
      tcc.untilDue();
      expect(tcc.sent).toEqual(['confirm:b#2']);
      tcc.untilDue();
      expect(tcc.sent).toEqual(['confirm:a#3']);
    });

    it('is final: abort is refused and the deadline has no effect', () => {
      const tcc = run(pair, { timeoutMs: 500 });
      tcc.reply('a', 'success');
      tcc.reply('b', 'success');
      expect(tcc.apply({ type: 'abort', actor: 'alice' })).toMatchObject({
        accepted: false,
        rejection: { code: 'past_point_of_no_return' },
      });
      expect(nextDueAt(tcc.state)).toBe(tcc.now + 1000);
      tcc.after(1000);
      expect(tcc.state.status).toBe('running');
      expect(tcc.step('a')).toMatchObject({ phase: 'confirm', waitingFor: 'backoff' });
      expect(tcc.history).not.toContainEqual(decided('abort'));
    });

    it('stops as failed, for an operator, when a confirm runs out of attempts', () => {
      const tcc = failedConfirm();
      expect(tcc.state).toMatchObject({ status: 'failed', rollback: null });
      expect(statuses(tcc)).toEqual({ a: 'failed', b: 'succeeded' });
      expect(nextDueAt(tcc.state)).toBeNull();
    });

    it('cancels instead when the last try succeeds after the deadline, before its timer fired', () => {
      const tcc = run(pair, { timeoutMs: 500, stepTimeoutMs: 10_000 });
      tcc.reply('a', 'success');
      tcc.now += 500;
      tcc.reply('b', 'success');
      expect(tcc.state).toMatchObject({ status: 'compensating', rollback: { kind: 'deadline' } });
      expect(tcc.sent).toEqual(['cancel:a#1', 'cancel:b#1']);
    });
  });

  describe('cancel', () => {
    it('cancels every step whose try was sent, the refused one included, and skips the others', () => {
      const tcc = run([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a'] }]);
      tcc.reply('b', 'success');
      tcc.reply('a', 'failure', { error: { code: 'NO_SEAT', message: 'taken' } });
      expect(tcc.state).toMatchObject({ status: 'compensating', rollback: { kind: 'step_failed', stepId: 'a' } });
      expect(tcc.history).toContainEqual(decided('abort'));
      expect(tcc.sent).toEqual(['cancel:a#1', 'cancel:b#1']);
      expect(sendsOf(tcc.effects)[1]).toMatchObject({ action: 'do-b', input: {} });
      expect(statuses(tcc)).toEqual({ a: 'compensating', b: 'compensating', c: 'skipped' });
      tcc.reply('a', 'success');
      tcc.reply('b', 'success');
      expect(tcc.state.status).toBe('compensated');
      expect(statuses(tcc)).toEqual({ a: 'compensated', b: 'compensated', c: 'skipped' });
      expect(tcc.step('a').lastError).toEqual({ code: 'NO_SEAT', message: 'taken' });
    });

    it('cancels a step whose try is still out once it answers, whatever it answers', () => {
      for (const outcome of ['success', 'failure', 'retry'] as const) {
        const tcc = run(pair);
        tcc.reply('a', 'failure');
        expect(tcc.sent).toEqual(['cancel:a#1']);
        expect(tcc.step('b')).toMatchObject({ status: 'running', phase: 'try', waitingFor: 'reply' });
        tcc.reply('b', outcome);
        expect(tcc.sent).toEqual(['cancel:b#1']);
      }
    });

    it('cancels a step whose try times out during the rollback, without trying it again', () => {
      const tcc = run(pair);
      tcc.reply('a', 'failure');
      tcc.after(1000);
      expect(tcc.sent).toEqual(['cancel:b#1']);
    });

    it('rolls back when a try runs out of attempts, cancelling the steps tried', () => {
      const tcc = run(pair, { retry: { maxAttempts: 2 } });
      tcc.reply('a', 'success');
      tcc.reply('b', 'retry');
      tcc.untilDue();
      tcc.reply('b', 'retry');
      expect(tcc.state).toMatchObject({ status: 'compensating', rollback: { kind: 'step_failed', stepId: 'b' } });
      expect(tcc.sent).toEqual(['cancel:a#1', 'cancel:b#1']);
    });

    it('drops a try waiting for its backoff and cancels the step at once', () => {
      const tcc = run(pair);
      tcc.reply('b', 'retry');
      tcc.reply('a', 'failure');
      expect(tcc.sent).toEqual(['cancel:a#1', 'cancel:b#1']);
    });

    it('rolls back when the deadline passes, and keeps cancelling after it', () => {
      const tcc = run(chain, { timeoutMs: 1500, stepTimeoutMs: 60_000 });
      expect(nextDueAt(tcc.state)).toBe(tcc.now + 1500);
      tcc.reply('a', 'success');
      tcc.untilDue();
      expect(tcc.state).toMatchObject({ status: 'compensating', rollback: { kind: 'deadline' } });
      expect(tcc.sent).toEqual(['cancel:a#1']);
      tcc.reply('b', 'success');
      expect(tcc.sent).toEqual(['cancel:b#1']);
      tcc.reply('a', 'retry');
      tcc.after(10_000);
      expect(tcc.sent).toEqual(['cancel:a#2']);
      tcc.reply('a', 'success');
      tcc.reply('b', 'success');
      expect(tcc.state.status).toBe('compensated');
    });

    it('retries a cancel on any outcome but success, then gives up: failed once nothing else can progress', () => {
      const tcc = failedCancel();
      expect(statuses(tcc)).toEqual({ a: 'compensated', b: 'compensation_failed' });
      expect(tcc.state).toMatchObject({ status: 'failed', rollback: { kind: 'step_failed', stepId: 'a' } });
      expect(nextDueAt(tcc.state)).toBeNull();

      const waiting = run(pair, { retry: { maxAttempts: 1 } });
      waiting.reply('a', 'failure');
      waiting.reply('a', 'failure');
      expect(waiting.state.status).toBe('compensating');
      waiting.reply('b', 'success');
      waiting.reply('b', 'success');
      expect(waiting.state.status).toBe('failed');
    });
  });

  describe('operator abort', () => {
    it('cancels a running transaction, recording who did it', () => {
      const tcc = run(chain);
      tcc.reply('a', 'success');
      expect(tcc.apply({ type: 'abort', actor: 'alice', reason: 'customer called' }).accepted).toBe(true);
      expect(tcc.history.slice(0, 3)).toEqual([
        { type: 'operator.aborted', actor: 'alice', reason: 'customer called' },
        decided('abort'),
        { type: 'transaction.status_changed', from: 'running', to: 'compensating', cause: { kind: 'aborted', actor: 'alice' } },
      ]);
      expect(tcc.sent).toEqual(['cancel:a#1']);
    });

    it('is refused unless the transaction is running', () => {
      const tcc = run([{ id: 'a' }]);
      tcc.reply('a', 'failure');
      expect(tcc.apply({ type: 'abort', actor: 'alice' })).toMatchObject({ rejection: { code: 'not_running' } });
    });
  });

  describe('replies that do not count', () => {
    it('ignores stale, duplicate, wrong-phase and unknown-step replies, changing nothing', () => {
      const tcc = run(pair);
      tcc.reply('a', 'success');
      tcc.reply('b', 'success');
      const before = tcc.state;
      const ignored = [
        { stepId: 'a', phase: 'try', attempt: 1, reason: 'phase_mismatch' },
        { stepId: 'a', phase: 'cancel', attempt: 1, reason: 'phase_mismatch' },
        { stepId: 'a', phase: 'confirm', attempt: 2, reason: 'attempt_mismatch' },
        { stepId: 'ghost', phase: 'confirm', attempt: 1, reason: 'unknown_step' },
      ] as const;
      for (const { reason, ...reply } of ignored) {
        expect(tcc.apply({ type: 'reply', outcome: 'failure', ...reply })).toEqual({
          accepted: true,
          state: before,
          effects: [{ kind: 'record', event: { type: 'step.reply_ignored', outcome: 'failure', reason, ...reply } }],
        });
      }
      tcc.reply('a', 'success');
      expect(tcc.reply('a', 'failure', { attempt: 1 })).toMatchObject({
        effects: [{ event: { type: 'step.reply_ignored', reason: 'not_awaited' } }],
      });
      tcc.reply('b', 'success');
      expect(tcc.reply('b', 'failure', { attempt: 1 })).toMatchObject({
        effects: [{ event: { reason: 'transaction_finished' } }],
      });
    });
  });

  describe('operator retry', () => {
    it('replays a failed confirm with a fresh budget and new attempt numbers, then completes', () => {
      const tcc = failedConfirm();
      tcc.apply({ type: 'retry', actor: 'bob' });
      expect(tcc.history[0]).toEqual({ type: 'operator.retried', actor: 'bob', stepIds: ['a'] });
      expect(tcc.state.status).toBe('running');
      expect(tcc.sent).toEqual(['confirm:a#2']);
      expect(tcc.step('a')).toMatchObject({ status: 'running', attemptsLeft: 0 });
      tcc.reply('a', 'success');
      expect(tcc.state.status).toBe('completed');
    });

    it('replays a failed cancel, then ends compensated', () => {
      const tcc = failedCancel();
      tcc.apply({ type: 'retry', actor: 'bob' });
      expect(tcc.state.status).toBe('compensating');
      expect(tcc.sent).toEqual(['cancel:b#2']);
      tcc.reply('b', 'success');
      expect(tcc.state.status).toBe('compensated');
    });

    it('is refused unless the transaction failed', () => {
      expect(run(pair).apply({ type: 'retry', actor: 'bob' })).toMatchObject({ rejection: { code: 'not_failed' } });
    });
  });

  describe('operator resolve', () => {
    const resolve = (tcc: TccRun, stepId: string, outcome: 'compensated' | 'succeeded') =>
      tcc.apply({ type: 'resolve', stepId, outcome, note: 'by hand', actor: 'bob' });

    it('lets a failed confirm count as succeeded, but never as compensated', () => {
      const tcc = failedConfirm();
      expect(resolve(tcc, 'a', 'compensated')).toMatchObject({ rejection: { code: 'past_point_of_no_return' } });
      expect(resolve(tcc, 'a', 'succeeded').accepted).toBe(true);
      expect(tcc.history[0]).toEqual({ type: 'operator.resolved', stepId: 'a', outcome: 'succeeded', note: 'by hand', actor: 'bob' });
      expect(tcc.state.status).toBe('completed');
    });

    it('lets a failed cancel count as compensated, but never as succeeded', () => {
      const tcc = failedCancel();
      expect(resolve(tcc, 'b', 'succeeded')).toMatchObject({ rejection: { code: 'outcome_not_applicable' } });
      resolve(tcc, 'b', 'compensated');
      expect(tcc.state.status).toBe('compensated');
    });

    it('refuses unknown steps and steps that are not stuck', () => {
      const tcc = failedCancel();
      expect(resolve(tcc, 'ghost', 'compensated')).toMatchObject({ rejection: { code: 'unknown_step' } });
      expect(resolve(tcc, 'a', 'compensated')).toMatchObject({ rejection: { code: 'step_not_stuck' } });
    });
  });

  describe('holds (the gate refuses a command)', () => {
    const HOLD_MS = 500;
    const gateOf = (tcc: TccRun, verdicts: boolean[], reason: HoldReason = 'circuit_open'): Gate => {
      const queue = [...verdicts];
      return {
        admit: () => ((queue.shift() ?? true) ? { admitted: true } : { admitted: false, reason, retryAt: tcc.now + HOLD_MS }),
      };
    };
    const runHeld = (steps: readonly TestStep[], verdicts: boolean[], options?: TestOptions): TccRun => {
      const tcc = new TccRun(tccDefinition(steps, options));
      tcc.gate = gateOf(tcc, verdicts);
      return tcc.start();
    };

    it('holds a try without using an attempt, and sends it when the hold ends', () => {
      const tcc = runHeld(pair, [false]);
      expect(tcc.sent).toEqual(['try:b#1']);
      expect(tcc.step('a')).toMatchObject({ status: 'running', attempt: 0, attemptsLeft: 3, waitingFor: 'hold' });
      expect(tcc.history).toContainEqual({
        type: 'step.held',
        stepId: 'a',
        phase: 'try',
        participant: 'svc',
        reason: 'circuit_open',
        until: tcc.now + HOLD_MS,
      });
      tcc.untilDue();
      expect(tcc.sent).toEqual(['try:a#1']);
    });

    it('skips a step held before its first try when the transaction cancels', () => {
      const tcc = runHeld(pair, [true, false]);
      tcc.reply('a', 'failure');
      expect(statuses(tcc)).toEqual({ a: 'compensating', b: 'skipped' });
      expect(tcc.sent).toEqual(['cancel:a#1']);
      expect(tcc.step('b')).toMatchObject({ attempt: 0, waitingFor: null, dueAt: null });
    });

    it('holds a confirm and sends it when the hold ends; the transaction waits for it', () => {
      const tcc = runHeld(pair, [true, true, false]);
      tcc.reply('a', 'success');
      tcc.reply('b', 'success');
      expect(tcc.sent).toEqual(['confirm:b#1']);
      expect(tcc.step('a')).toMatchObject({ status: 'running', phase: 'confirm', attempt: 0, waitingFor: 'hold' });
      tcc.reply('b', 'success');
      expect(tcc.state.status).toBe('running');
      tcc.gate = ADMIT_ALL;
      tcc.untilDue();
      expect(tcc.sent).toEqual(['confirm:a#1']);
      tcc.reply('a', 'success');
      expect(tcc.state.status).toBe('completed');
    });

    it('holds a cancel; the rollback waits for it', () => {
      const tcc = runHeld([{ id: 'a' }], [true, false]);
      tcc.reply('a', 'failure');
      expect(tcc.step('a')).toMatchObject({ status: 'compensating', phase: 'cancel', waitingFor: 'hold' });
      tcc.untilDue();
      expect(tcc.sent).toEqual(['cancel:a#1']);
      tcc.reply('a', 'success');
      expect(tcc.state.status).toBe('compensated');
    });
  });
});
