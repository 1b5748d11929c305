import { sendsOf, TestOptions, TestStep } from '../test/machine-harness';
import { TwoPcRun, twoPcDefinition } from '../test/two-pc-harness';
import { Gate } from '../transaction/inputs';
import { decisionOf, initialTwoPcState, nextDueAt } from './two-phase-commit-machine';

const three = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
const run = (steps: readonly TestStep[] = three, options?: TestOptions, input = {}) => new TwoPcRun(twoPcDefinition(steps, options), input).start();

const statuses = (tx: TwoPcRun) => Object.fromEntries(Object.entries(tx.state.steps).map(([id, s]) => [id, s.status]));

/** Every step votes yes: the commit decision goes out. */
const prepared = (tx: TwoPcRun): TwoPcRun => {
  for (const id of Object.keys(tx.state.steps)) if (tx.step(id).phase === 'prepare') tx.reply(id, 'success');
  return tx;
};

const REFUSE_ALL: Gate = { admit: () => ({ admitted: false, reason: 'circuit_open', retryAt: 2_000_000 }) };

describe('two-phase-commit machine', () => {
  describe('voting', () => {
    it('prepares every step in parallel, with its input, and no decision yet', () => {
      const tx = run(three, { timeoutMs: 30_000 }, { sku: 'X' });
      expect(tx.sent).toEqual(['prepare:a#1', 'prepare:b#1', 'prepare:c#1']);
      expect(sendsOf(tx.effects)[0]).toEqual({
        kind: 'send',
        stepId: 'a',
        participant: 'svc',
        phase: 'prepare',
        action: 'do-a',
        attempt: 1,
        input: { sku: 'X' },
        deadline: tx.now + 1000,
      });
      expect(tx.state).toMatchObject({ status: 'running', decision: null, deadline: tx.now + 30_000 });
      expect(statuses(tx)).toEqual({ a: 'running', b: 'running', c: 'running' });
      expect(decisionOf(tx.state)).toBe('pending');
    });

    it('starts with a pending vote and happens once', () => {
      const tx = new TwoPcRun(twoPcDefinition(three));
      expect(initialTwoPcState(tx.definition)).toMatchObject({ decision: null, status: 'running' });
      expect(tx.apply({ type: 'timer' })).toMatchObject({ accepted: false, rejection: { code: 'not_started' } });
      tx.start();
      expect(tx.apply({ type: 'started', actor: 'ann' })).toMatchObject({ accepted: false, rejection: { code: 'already_started' } });
    });

    it('prepares a step once every step it depends on voted yes, with their prepare outputs', () => {
      const tx = run([{ id: 'a' }, { id: 'b', dependsOn: ['a'], input: { v: '$.steps.a.output.v' } }]);
      expect(tx.sent).toEqual(['prepare:a#1']);
      tx.reply('a', 'success', { output: { v: 7 } });
      expect(sendsOf(tx.effects)).toMatchObject([{ stepId: 'b', phase: 'prepare', input: { v: 7 } }]);
      expect(tx.state.decision).toBeNull();
    });

    it('retries a prepare answered retry or timed out, with backoff', () => {
      const tx = run([{ id: 'a' }]);
      tx.reply('a', 'retry');
      expect(tx.step('a')).toMatchObject({ waitingFor: 'backoff', dueAt: tx.now + 100 });
      tx.untilDue();
      expect(tx.sent).toEqual(['prepare:a#2']);
      tx.untilDue();
      expect(tx.history).toContainEqual({ type: 'step.timed_out', stepId: 'a', phase: 'prepare', attempt: 2 });
      expect(tx.step('a')).toMatchObject({ waitingFor: 'backoff', lastError: { code: 'TIMEOUT' } });
    });
  });

  describe('the decision COMMIT', () => {
    it('is recorded, in the same decision and before them, with the commits to every step', () => {
      const tx = run();
      tx.reply('a', 'success');
      tx.reply('b', 'success');
      expect(tx.sent).toEqual([]);
      tx.reply('c', 'success');
      expect(tx.state.decision).toBe('commit');
      expect(decisionOf(tx.state)).toBe('commit');
      expect(tx.sent).toEqual(['commit:a#1', 'commit:b#1', 'commit:c#1']);
      const decidedAt = tx.effects.findIndex((e) => e.kind === 'record' && e.event.type === 'transaction.decided');
      const firstCommit = tx.effects.findIndex((e) => e.kind === 'send');
      expect(decidedAt).toBeGreaterThanOrEqual(0);
      expect(decidedAt).toBeLessThan(firstCommit);
      expect(tx.history).toContainEqual({ type: 'transaction.decided', decision: 'commit' });
      expect(sendsOf(tx.effects)[0]).toMatchObject({ action: 'do-a', phase: 'commit' });
    });

    it('completes once every commit is acknowledged', () => {
      const tx = prepared(run());
      tx.reply('a', 'success');
      tx.reply('b', 'success');
      expect(tx.state.status).toBe('running');
      tx.reply('c', 'success');
      expect(tx.state.status).toBe('completed');
      expect(statuses(tx)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
      expect(nextDueAt(tx.state, tx.definition)).toBeNull();
    });

    it('retries a commit on failure, retry and timeout alike; the deadline no longer applies', () => {
      const tx = prepared(run([{ id: 'a' }], { timeoutMs: 5_000, retry: { maxAttempts: 4 } }));
      tx.reply('a', 'failure');
      expect(tx.step('a')).toMatchObject({ phase: 'commit', waitingFor: 'backoff' });
      tx.untilDue();
      tx.reply('a', 'retry');
      tx.untilDue();
      tx.untilDue(); // attempt 3 times out
      tx.untilDue();
      expect(tx.sent).toEqual(['commit:a#4']);
      tx.now += 60_000;
      tx.reply('a', 'success');
      expect(tx.state).toMatchObject({ status: 'completed', decision: 'commit' });
    });

    it('leaves a commit that spends its budget failed, and the transaction failed for an operator', () => {
      const tx = prepared(run([{ id: 'a' }, { id: 'b' }], { retry: { maxAttempts: 1 } }));
      tx.reply('a', 'success');
      tx.reply('b', 'failure');
      expect(statuses(tx)).toEqual({ a: 'succeeded', b: 'failed' });
      expect(tx.state).toMatchObject({ status: 'failed', decision: 'commit' });
      expect(decisionOf(tx.state)).toBe('commit');
      expect(nextDueAt(tx.state, tx.definition)).toBeNull();
    });

    it('decides abort, not commit, when the last yes arrives after the deadline', () => {
      const tx = run([{ id: 'a' }, { id: 'b' }], { timeoutMs: 500 });
      tx.reply('a', 'success');
      tx.now += 600;
      tx.reply('b', 'success');
      expect(tx.state).toMatchObject({ decision: 'abort', status: 'compensating', rollback: { kind: 'deadline' } });
      expect(tx.sent).toEqual(['abort:a#1', 'abort:b#1']);
    });
  });

  describe('the decision ABORT', () => {
    it('follows a NO vote: prepared and in-flight steps are aborted at once, the NO voter and unsent steps not', () => {
      const tx = run([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd', dependsOn: ['a'] }]);
      tx.reply('a', 'success');
      expect(tx.sent).toEqual(['prepare:d#1']);
      tx.reply('b', 'failure', { error: { code: 'NO', message: 'no stock' } });
      expect(tx.state).toMatchObject({
        decision: 'abort',
        status: 'compensating',
        rollback: { kind: 'step_failed', stepId: 'b' },
      });
      expect(tx.history).toContainEqual({ type: 'transaction.decided', decision: 'abort' });
      expect(tx.sent).toEqual(['abort:a#1', 'abort:c#1', 'abort:d#1']);
      expect(statuses(tx)).toEqual({ a: 'compensating', b: 'failed', c: 'compensating', d: 'compensating' });
      expect(decisionOf(tx.state)).toBe('abort');
    });

    it('skips steps never prepared, and ignores the late reply to a prepare it aborted', () => {
      const tx = run([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }]);
      tx.apply({ type: 'abort', actor: 'ann', reason: 'test' });
      expect(statuses(tx)).toEqual({ a: 'compensating', b: 'skipped' });
      expect(tx.sent).toEqual(['abort:a#1']);
      expect(tx.history).toContainEqual({ type: 'operator.aborted', actor: 'ann', reason: 'test' });
      const late = tx.reply('a', 'success', { phase: 'prepare', attempt: 1 });
      expect(late).toMatchObject({ accepted: true });
      expect(tx.history).toEqual([
        {
          type: 'step.reply_ignored',
          stepId: 'a',
          phase: 'prepare',
          attempt: 1,
          outcome: 'success',
          reason: 'phase_mismatch',
        },
      ]);
    });

    it('aborts a step whose prepare spent its budget: it may have prepared', () => {
      const tx = run([{ id: 'a' }, { id: 'b' }], { retry: { maxAttempts: 2 } });
      tx.reply('b', 'success');
      tx.untilDue(); // a#1 times out
      tx.untilDue(); // a#2 goes out
      tx.untilDue(); // a#2 times out: budget spent
      expect(tx.state).toMatchObject({ decision: 'abort', rollback: { kind: 'step_failed', stepId: 'a' } });
      expect(tx.sent).toEqual(['abort:a#1', 'abort:b#1']);
    });

    it('aborts on the deadline, which stops a retry waiting for its backoff', () => {
      const tx = run([{ id: 'a' }, { id: 'b' }], { timeoutMs: 150, retry: { initialDelayMs: 500 } });
      tx.reply('a', 'retry');
      tx.reply('b', 'success');
      expect(nextDueAt(tx.state, tx.definition)).toBe(tx.now + 150);
      tx.untilDue();
      expect(tx.state).toMatchObject({ decision: 'abort', rollback: { kind: 'deadline' } });
      expect(tx.sent).toEqual(['abort:a#1', 'abort:b#1']);
    });

    it('is compensated when every abort is acknowledged; aborts are retried until then', () => {
      const tx = run([{ id: 'a' }, { id: 'b' }]);
      tx.reply('a', 'failure');
      tx.reply('b', 'failure');
      expect(tx.step('b')).toMatchObject({ phase: 'abort', waitingFor: 'backoff' });
      tx.untilDue();
      tx.reply('b', 'success');
      expect(tx.state.status).toBe('compensated');
      expect(statuses(tx)).toEqual({ a: 'failed', b: 'compensated' });
    });

    it('leaves an abort that spends its budget compensation_failed, the transaction failed', () => {
      const tx = run([{ id: 'a' }], { retry: { maxAttempts: 1 } });
      tx.apply({ type: 'abort', actor: 'ann' });
      tx.untilDue(); // the abort times out
      expect(statuses(tx)).toEqual({ a: 'compensation_failed' });
      expect(tx.state).toMatchObject({ status: 'failed', decision: 'abort' });
      expect(decisionOf(tx.state)).toBe('abort');
    });
  });

  describe('operators', () => {
    it('may abort only while the vote is open', () => {
      const committed = prepared(run([{ id: 'a' }]));
      expect(committed.apply({ type: 'abort', actor: 'ann' })).toMatchObject({
        accepted: false,
        rejection: { code: 'past_point_of_no_return' },
      });
      const aborted = run([{ id: 'a' }]);
      aborted.apply({ type: 'abort', actor: 'ann' });
      expect(aborted.apply({ type: 'abort', actor: 'ann' })).toMatchObject({
        accepted: false,
        rejection: { code: 'not_running' },
      });
    });

    it('replays failed commits with a fresh budget, continuing the attempt numbers', () => {
      const tx = prepared(run([{ id: 'a' }, { id: 'b' }], { retry: { maxAttempts: 1 } }));
      tx.reply('a', 'failure');
      tx.reply('b', 'success');
      expect(tx.state.status).toBe('failed');
      expect(tx.apply({ type: 'retry', actor: 'ops' })).toMatchObject({ accepted: true });
      expect(tx.sent).toEqual(['commit:a#2']);
      expect(tx.state.status).toBe('running');
      expect(tx.history).toContainEqual({ type: 'operator.retried', actor: 'ops', stepIds: ['a'] });
      tx.reply('a', 'success');
      expect(tx.state.status).toBe('completed');
    });

    it('replays failed aborts, and refuses to retry what has not failed', () => {
      const tx = run([{ id: 'a' }], { retry: { maxAttempts: 1 } });
      expect(tx.apply({ type: 'retry', actor: 'ops' })).toMatchObject({ rejection: { code: 'not_failed' } });
      tx.apply({ type: 'abort', actor: 'ann' });
      tx.reply('a', 'retry');
      tx.apply({ type: 'retry', actor: 'ops' });
      expect(tx.sent).toEqual(['abort:a#2']);
      expect(tx.state.status).toBe('compensating');
      tx.reply('a', 'success');
      expect(tx.state.status).toBe('compensated');
    });

    it('resolves a failed commit as succeeded, never as compensated', () => {
      const tx = prepared(run([{ id: 'a' }], { retry: { maxAttempts: 1 } }));
      tx.reply('a', 'failure');
      const resolve = { type: 'resolve', actor: 'ops', stepId: 'a', note: 'done by hand' } as const;
      expect(tx.apply({ ...resolve, outcome: 'compensated' })).toMatchObject({
        rejection: { code: 'past_point_of_no_return' },
      });
      tx.apply({ ...resolve, outcome: 'succeeded' });
      expect(tx.state.status).toBe('completed');
      expect(tx.history[0]).toEqual({ ...resolve, type: 'operator.resolved', outcome: 'succeeded' });
    });

    it('resolves a failed abort as compensated, never as succeeded; refuses unknown or healthy steps', () => {
      const tx = run([{ id: 'a' }, { id: 'b' }], { retry: { maxAttempts: 1 } });
      tx.reply('b', 'failure');
      tx.reply('a', 'retry');
      expect(tx.state.status).toBe('failed');
      const resolve = { type: 'resolve', actor: 'ops', note: 'n' } as const;
      expect(tx.apply({ ...resolve, stepId: 'a', outcome: 'succeeded' })).toMatchObject({
        rejection: { code: 'outcome_not_applicable' },
      });
      expect(tx.apply({ ...resolve, stepId: 'b', outcome: 'compensated' })).toMatchObject({
        rejection: { code: 'step_not_stuck' },
      });
      expect(tx.apply({ ...resolve, stepId: '__proto__', outcome: 'compensated' })).toMatchObject({
        rejection: { code: 'unknown_step' },
      });
      tx.apply({ ...resolve, stepId: 'a', outcome: 'compensated' });
      expect(tx.state.status).toBe('compensated');
    });
  });

  describe('replies and holds', () => {
    it('ignores duplicates, stale attempts and replies to a finished transaction', () => {
      const tx = run([{ id: 'a' }]);
      tx.reply('a', 'success');
      const before = tx.state;
      tx.reply('a', 'success', { phase: 'prepare', attempt: 1 });
      expect(tx.state).toBe(before);
      expect(tx.history).toMatchObject([{ type: 'step.reply_ignored', reason: 'phase_mismatch' }]);
      tx.reply('a', 'success');
      tx.reply('a', 'failure', { phase: 'commit', attempt: 1 });
      expect(tx.history).toMatchObject([{ type: 'step.reply_ignored', reason: 'transaction_finished' }]);
      expect(tx.state.status).toBe('completed');
    });

    it('holds a prepare the gate refuses, using no attempt; an abort skips it', () => {
      const tx = new TwoPcRun(twoPcDefinition([{ id: 'a' }, { id: 'b' }]));
      tx.gate = { admit: () => ({ admitted: false, reason: 'in_flight_limit', retryAt: tx.now + 50 }) };
      tx.start();
      expect(tx.sent).toEqual([]);
      expect(tx.step('a')).toMatchObject({ status: 'running', waitingFor: 'hold', attempt: 0 });
      tx.apply({ type: 'abort', actor: 'ann' });
      expect(statuses(tx)).toEqual({ a: 'skipped', b: 'skipped' });
      expect(tx.state.status).toBe('compensated');
    });

    it('holds commits until the gate admits them; the decision is already recorded', () => {
      const tx = run([{ id: 'a' }]);
      tx.gate = REFUSE_ALL;
      tx.reply('a', 'success');
      expect(tx.state.decision).toBe('commit');
      expect(tx.sent).toEqual([]);
      expect(tx.step('a')).toMatchObject({ phase: 'commit', waitingFor: 'hold', dueAt: 2_000_000 });
      expect(nextDueAt(tx.state, tx.definition)).toBe(2_000_000);
      tx.gate = { admit: () => ({ admitted: true }) };
      tx.untilDue();
      expect(tx.sent).toEqual(['commit:a#1']);
    });
  });

  describe('decisionOf (presumed abort)', () => {
    it('answers abort for a state with no recorded decision that no longer votes', () => {
      const tx = run([{ id: 'a' }]);
      expect(decisionOf({ ...tx.state, status: 'compensated' })).toBe('abort');
      expect(decisionOf(tx.state)).toBe('pending');
    });
  });
});
