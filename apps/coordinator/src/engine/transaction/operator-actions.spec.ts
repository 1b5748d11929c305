import { JsonObject } from '@ordo/protocol';
import { nextDueAt } from '../saga/saga-machine';
import { SagaRun, sagaDefinition } from '../test/saga-harness';
import { TccRun, tccDefinition } from '../test/tcc-harness';
import { TwoPcRun, twoPcDefinition } from '../test/two-pc-harness';
import { Gate } from './inputs';

// a → b → c, deadline 30 s, attempts of 1 s, 3 attempts with backoff 100, 200 … ms.
const chain = sagaDefinition([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] }], { timeoutMs: 30_000 });
const saga = () => new SagaRun(chain).start();
const due = (run: SagaRun) => nextDueAt(run.state, chain);
const rejection = (decision: { accepted: boolean }) => (decision as { rejection?: { code: string } }).rejection?.code;

/** Holds every command to `paused`, admits the rest. */
const pausing = (paused: Set<string>): Gate => ({
  admit: (participant) => (paused.has(participant) ? { admitted: false, reason: 'participant_paused' } : { admitted: true }),
});

describe('operator actions', () => {
  describe('pause and resume', () => {
    it('stops the clock: no timer, no command, replies still applied; resuming moves every timer on by the time paused', () => {
      const run = saga();
      const started = run.now;
      run.now += 400;
      run.apply({ type: 'pause', actor: 'ops', note: 'look first' });
      expect(run.history).toEqual([{ type: 'operator.paused', actor: 'ops', note: 'look first' }]);
      expect(run.state.paused).toEqual({ since: started + 400, actor: 'ops', participants: [] });
      expect(due(run)).toBeNull();
      // Long past a's timeout and the deadline: nothing happens.
      run.now += 60_000;
      expect(run.apply({ type: 'timer' })).toMatchObject({ accepted: true, effects: [] });
      run.reply('a', 'success', { output: { v: 1 } });
      expect(run.sent).toEqual([]);
      expect(run.step('a').status).toBe('succeeded');
      expect(run.step('b')).toMatchObject({ status: 'running', waitingFor: 'hold', attempt: 0 });
      expect(run.history).toContainEqual({ type: 'step.held', stepId: 'b', phase: 'execute', participant: 'svc', reason: 'transaction_paused' });
      run.now += 1000;
      run.apply({ type: 'resume', actor: 'ops' });
      const pausedMs = 61_000;
      expect(run.history.slice(0, 2)).toEqual([
        { type: 'operator.resumed', actor: 'ops' },
        { type: 'transaction.resumed', actor: 'ops', pausedMs },
      ]);
      expect(run.sent).toEqual(['execute:b#1']);
      expect(run.state).toMatchObject({ paused: null, deadline: started + 30_000 + pausedMs });
      expect(due(run)).toBe(run.now + 1000);
    });

    it('counts a retry scheduled while paused from the pause, so it waits its whole backoff after the resume', () => {
      const run = saga();
      run.apply({ type: 'pause', actor: 'ops' });
      const since = run.now;
      run.now += 5000;
      run.reply('a', 'retry');
      expect(run.step('a')).toMatchObject({ waitingFor: 'backoff', dueAt: since + 100 });
      run.now += 5000;
      run.apply({ type: 'resume', actor: 'ops' });
      expect(run.step('a').dueAt).toBe(run.now + 100);
      expect(run.after(100).accepted && run.sent).toEqual(['execute:a#2']);
    });

    it('refuses to pause twice, a finished transaction, or to resume one not paused', () => {
      const run = saga();
      expect(rejection(run.apply({ type: 'resume', actor: 'ops' }))).toBe('not_paused');
      run.apply({ type: 'pause', actor: 'ops' });
      expect(rejection(run.apply({ type: 'pause', actor: 'bob' }))).toBe('already_paused');
      const done = new SagaRun(sagaDefinition([{ id: 'a' }])).start();
      done.reply('a', 'success');
      expect(rejection(done.apply({ type: 'pause', actor: 'ops' }))).toBe('not_running');
    });

    it('is paused no more once its last replies end it', () => {
      const run = new SagaRun(sagaDefinition([{ id: 'a' }])).start();
      run.apply({ type: 'pause', actor: 'ops' });
      run.reply('a', 'success');
      expect(run.state).toMatchObject({ status: 'completed', paused: null });
    });

    it('rolls back an aborted paused transaction once resumed: its compensations wait too', () => {
      const run = saga();
      run.reply('a', 'success');
      run.apply({ type: 'pause', actor: 'ops' });
      run.reply('b', 'success');
      run.apply({ type: 'abort', actor: 'ops' });
      expect([run.state.status, run.sent]).toEqual(['compensating', []]);
      run.apply({ type: 'resume', actor: 'ops' });
      expect(run.sent).toEqual(['compensate:b#1']);
    });
  });

  describe('paused participant', () => {
    it('pauses the transaction that has a command for it, until it is resumed', () => {
      const run = saga();
      const paused = new Set(['svc']);
      run.gate = pausing(paused);
      run.reply('a', 'success');
      expect(run.sent).toEqual([]);
      expect(run.history).toContainEqual({ type: 'transaction.paused', participant: 'svc' });
      expect(run.state.paused).toEqual({ since: run.now, actor: null, participants: ['svc'] });
      expect(due(run)).toBeNull();
      // An operator's pause on top: the participant's resume alone does not restart it.
      run.apply({ type: 'pause', actor: 'ops' });
      paused.clear();
      run.now += 10_000;
      run.apply({ type: 'participant_resumed', actor: 'ops', participant: 'svc' });
      expect([run.sent, run.state.paused]).toEqual([[], { since: run.now - 10_000, actor: 'ops', participants: [] }]);
      expect(rejection(run.apply({ type: 'participant_resumed', actor: 'ops', participant: 'svc' }))).toBe('not_paused');
      run.apply({ type: 'resume', actor: 'ops' });
      expect(run.sent).toEqual(['execute:b#1']);
      expect(run.state.deadline).toBe(1_000_000 + 30_000 + 10_000);
    });
  });

  describe('retry now', () => {
    it("sends a step's scheduled retry at once, and refuses a step with none or a paused transaction", () => {
      const run = saga();
      expect(rejection(run.apply({ type: 'retry_now', actor: 'ops', stepId: 'a' }))).toBe('step_not_scheduled');
      expect(rejection(run.apply({ type: 'retry_now', actor: 'ops', stepId: 'zz' }))).toBe('unknown_step');
      run.reply('a', 'retry');
      run.apply({ type: 'retry_now', actor: 'ops', stepId: 'a', note: 'it is back' });
      expect(run.sent).toEqual(['execute:a#2']);
      expect(run.history[0]).toEqual({ type: 'operator.retried_now', actor: 'ops', stepId: 'a', note: 'it is back' });
      run.reply('a', 'retry');
      run.apply({ type: 'pause', actor: 'ops' });
      expect(rejection(run.apply({ type: 'retry_now', actor: 'ops', stepId: 'a' }))).toBe('paused');
    });
  });

  describe('attempts', () => {
    it('sets how many attempts a step still has: more retries, or none', () => {
      const run = saga();
      run.apply({ type: 'set_attempts', actor: 'ops', stepId: 'a', attemptsLeft: 0 });
      expect(run.history).toEqual([{ type: 'operator.attempts_changed', actor: 'ops', stepId: 'a', from: 2, to: 0 }]);
      run.reply('a', 'retry');
      expect(run.state.status).toBe('compensating');

      const more = saga();
      more.reply('a', 'retry');
      more.untilDue();
      more.reply('a', 'retry');
      more.untilDue();
      more.apply({ type: 'set_attempts', actor: 'ops', stepId: 'a', attemptsLeft: 1 });
      more.reply('a', 'retry');
      expect(more.step('a')).toMatchObject({ waitingFor: 'backoff', attemptsLeft: 1 });
    });

    it('refuses a step with nothing out or scheduled, and a scheduled retry without an attempt', () => {
      const run = saga();
      expect(rejection(run.apply({ type: 'set_attempts', actor: 'ops', stepId: 'b', attemptsLeft: 5 }))).toBe('step_not_active');
      run.reply('a', 'retry');
      expect(rejection(run.apply({ type: 'set_attempts', actor: 'ops', stepId: 'a', attemptsLeft: 0 }))).toBe('not_applicable');
    });
  });

  describe('skip', () => {
    it('counts a step as succeeded with the given output, so that its dependents run with it; its late reply is ignored', () => {
      const definition = sagaDefinition([{ id: 'a' }, { id: 'b', dependsOn: ['a'], input: { v: '$.steps.a.output.v' } }]);
      const run = new SagaRun(definition).start();
      run.apply({ type: 'skip', actor: 'ops', stepId: 'a', output: { v: 42 }, note: 'done by hand' });
      expect(run.history[0]).toEqual({ type: 'operator.skipped', actor: 'ops', stepId: 'a', output: { v: 42 }, note: 'done by hand' });
      expect(run.step('a')).toMatchObject({ status: 'succeeded', output: { v: 42 }, waitingFor: null });
      expect(run.effects.find((e) => e.kind === 'send')).toMatchObject({ stepId: 'b', input: { v: 42 } });
      run.apply({ type: 'reply', stepId: 'a', phase: 'execute', attempt: 1, outcome: 'failure' });
      expect(run.history).toEqual([expect.objectContaining({ type: 'step.reply_ignored', reason: 'not_awaited' })]);
      // Its execute went out: a rollback compensates it.
      run.apply({ type: 'fail_step', actor: 'ops', stepId: 'b', note: 'no' });
      expect(run.sent).toEqual(['compensate:b#1']);
    });

    it('refuses a step that succeeded, a TCC step, and a pivot while other steps run', () => {
      const run = saga();
      run.reply('a', 'success');
      expect(rejection(run.apply({ type: 'skip', actor: 'ops', stepId: 'a', output: null, note: 'x' }))).toBe('step_not_pending');
      const tcc = new TccRun(tccDefinition([{ id: 'a' }])).start();
      expect(rejection(tcc.apply({ type: 'skip', actor: 'ops', stepId: 'a', output: null, note: 'x' }))).toBe('not_applicable');
      const pivot = new SagaRun(sagaDefinition([{ id: 'a' }, { id: 'p', pivot: true }])).start();
      expect(rejection(pivot.apply({ type: 'skip', actor: 'ops', stepId: 'p', output: null, note: 'x' }))).toBe('not_applicable');
      pivot.reply('a', 'success');
      expect(pivot.apply({ type: 'skip', actor: 'ops', stepId: 'p', output: null, note: 'x' }).accepted).toBe(true);
      expect(pivot.history).toContainEqual({ type: 'transaction.committed', stepId: 'p' });
    });
  });

  describe('fail a pending step', () => {
    it('rolls a saga back as a refusal would: a step whose execute went out is compensated, one never sent is not', () => {
      const definition = sagaDefinition([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a'] }]);
      const run = new SagaRun(definition).start();
      run.reply('b', 'success');
      run.apply({ type: 'fail_step', actor: 'ops', stepId: 'a', note: 'stuck at the bank' });
      expect(run.history[0]).toEqual({ type: 'operator.failed_step', actor: 'ops', stepId: 'a', note: 'stuck at the bank' });
      expect(run.step('a')).toMatchObject({ status: 'compensating', lastError: { code: 'OPERATOR_FAILED', message: 'stuck at the bank' } });
      expect(run.sent.sort()).toEqual(['compensate:a#1', 'compensate:b#1']);
      expect(run.step('c').status).toBe('skipped');
      expect(rejection(run.apply({ type: 'fail_step', actor: 'ops', stepId: 'b', note: 'x' }))).toBe('not_running');

      const early = saga();
      early.reply('a', 'success');
      early.apply({ type: 'fail_step', actor: 'ops', stepId: 'c', note: 'not today' });
      // b's execute is still out: it is compensated once answered; c never ran.
      expect([early.step('c').status, early.sent]).toEqual(['failed', []]);
      early.reply('b', 'success');
      expect(early.sent).toEqual(['compensate:b#1']);
    });

    it('cancels a TCC transaction, and aborts a 2PC one including the failed step when its prepare went out', () => {
      const tcc = new TccRun(tccDefinition([{ id: 'a' }, { id: 'b' }])).start();
      tcc.reply('b', 'success');
      tcc.apply({ type: 'fail_step', actor: 'ops', stepId: 'a', note: 'x' });
      expect(tcc.sent.sort()).toEqual(['cancel:a#1', 'cancel:b#1']);

      const twoPc = new TwoPcRun(twoPcDefinition([{ id: 'a' }, { id: 'b' }])).start();
      twoPc.reply('b', 'success');
      twoPc.apply({ type: 'fail_step', actor: 'ops', stepId: 'a', note: 'x' });
      expect(twoPc.state.decision).toBe('abort');
      expect(twoPc.sent.sort()).toEqual(['abort:a#1', 'abort:b#1']);
      expect(rejection(twoPc.apply({ type: 'fail_step', actor: 'ops', stepId: 'b', note: 'x' }))).toBe('not_running');
    });
  });

  describe('edit and retry', () => {
    const sends = (run: { effects: readonly { kind: string }[] }) => run.effects.filter((e) => e.kind === 'send');
    const edit = (stepId: string, input: JsonObject) => ({ type: 'edit_input', actor: 'ops', stepId, input, note: 'fixed the sku' }) as const;

    it('sends a step waiting for a retry now with the new input, kept for its later attempts and its compensation; the history has both', () => {
      const definition = sagaDefinition([
        { id: 'a', input: { sku: '$.input.sku' } },
        { id: 'b', dependsOn: ['a'] },
      ]);
      const run = new SagaRun(definition, { sku: 'BAD' }).start();
      run.reply('a', 'retry');
      run.apply(edit('a', { sku: 'GOOD' }));
      expect(run.history[0]).toEqual({
        type: 'operator.input_edited',
        actor: 'ops',
        stepId: 'a',
        from: { sku: 'BAD' },
        to: { sku: 'GOOD' },
        note: 'fixed the sku',
      });
      expect(sends(run)).toEqual([expect.objectContaining({ stepId: 'a', phase: 'execute', attempt: 2, input: { sku: 'GOOD' } })]);
      expect(run.step('a').input).toEqual({ sku: 'GOOD' });
      run.reply('a', 'retry');
      run.untilDue();
      expect(sends(run)).toEqual([expect.objectContaining({ attempt: 3, input: { sku: 'GOOD' } })]);
      run.reply('a', 'success');
      run.apply({ type: 'fail_step', actor: 'ops', stepId: 'b', note: 'no' });
      run.reply('b', 'success');
      expect(sends(run)).toEqual([expect.objectContaining({ stepId: 'a', phase: 'compensate', input: { sku: 'GOOD' } })]);
    });

    it('replays a step stuck after the commit with a fresh budget; the saga completes', () => {
      const definition = sagaDefinition(
        [
          { id: 'p', pivot: true },
          { id: 'c', dependsOn: ['p'], input: { to: '$.input.to' } },
        ],
        { retry: { maxAttempts: 1 } },
      );
      const run = new SagaRun(definition, { to: 'nobody' }).start();
      run.reply('p', 'success');
      run.reply('c', 'failure');
      expect([run.state.status, run.step('c').status]).toEqual(['failed', 'failed']);
      run.apply(edit('c', { to: 'ada' }));
      expect(run.state.status).toBe('running');
      expect(sends(run)).toEqual([expect.objectContaining({ stepId: 'c', attempt: 2, input: { to: 'ada' } })]);
      expect(run.step('c')).toMatchObject({ status: 'running', attemptsLeft: 0 });
      run.reply('c', 'success');
      expect(run.state.status).toBe('completed');
    });

    it('replays a failed compensation with the new input; the rollback ends', () => {
      const run = new SagaRun(sagaDefinition([{ id: 'a' }, { id: 'b' }], { retry: { maxAttempts: 1 } }), { id: 1 }).start();
      run.reply('a', 'success');
      run.reply('b', 'failure');
      run.reply('b', 'success');
      run.reply('a', 'failure');
      expect([run.state.status, run.step('a').status]).toEqual(['failed', 'compensation_failed']);
      run.apply(edit('a', { id: 2 }));
      expect(run.state.status).toBe('compensating');
      expect(sends(run)).toEqual([expect.objectContaining({ stepId: 'a', phase: 'compensate', attempt: 2, input: { id: 2 } })]);
      run.reply('a', 'success');
      expect(run.state.status).toBe('compensated');
    });

    it('edits a TCC try and a 2PC prepare waiting for a retry; their later phases carry the edit', () => {
      const tcc = new TccRun(tccDefinition([{ id: 'a' }]), { n: 1 }).start();
      tcc.reply('a', 'retry');
      tcc.apply(edit('a', { n: 2 }));
      expect(sends(tcc)).toEqual([expect.objectContaining({ phase: 'try', attempt: 2, input: { n: 2 } })]);
      tcc.reply('a', 'success');
      expect(sends(tcc)).toEqual([expect.objectContaining({ phase: 'confirm', input: { n: 2 } })]);

      const twoPc = new TwoPcRun(twoPcDefinition([{ id: 'a' }]), { n: 1 }).start();
      twoPc.reply('a', 'retry');
      twoPc.apply(edit('a', { n: 2 }));
      twoPc.reply('a', 'success');
      expect(sends(twoPc)).toEqual([expect.objectContaining({ phase: 'commit', input: { n: 2 } })]);
    });

    it('refuses an unknown step, a step with an attempt out or not sent yet, a paused transaction, and a confirm or commit', () => {
      const run = saga();
      expect(rejection(run.apply(edit('zz', {})))).toBe('unknown_step');
      expect(rejection(run.apply(edit('a', {})))).toBe('step_not_retriable');
      expect(rejection(run.apply(edit('b', {})))).toBe('step_not_retriable');
      run.reply('a', 'retry');
      run.apply({ type: 'pause', actor: 'ops' });
      expect(rejection(run.apply(edit('a', {})))).toBe('paused');

      const tcc = new TccRun(tccDefinition([{ id: 'a' }], { retry: { maxAttempts: 1 } })).start();
      tcc.reply('a', 'success');
      tcc.reply('a', 'retry');
      expect([tcc.state.status, tcc.step('a').phase]).toEqual(['failed', 'confirm']);
      expect(rejection(tcc.apply(edit('a', {})))).toBe('not_applicable');

      const twoPc = new TwoPcRun(twoPcDefinition([{ id: 'a' }], { retry: { maxAttempts: 1 } })).start();
      twoPc.reply('a', 'success');
      twoPc.reply('a', 'retry');
      expect(rejection(twoPc.apply(edit('a', {})))).toBe('not_applicable');
    });
  });
});
