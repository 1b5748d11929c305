import { SagaRun, sagaDefinition } from '../test/saga-harness';
import { TccRun, tccDefinition } from '../test/tcc-harness';
import { TwoPcRun, twoPcDefinition } from '../test/two-pc-harness';
import { decisionOf } from '../twopc/two-phase-commit-machine';
import { COMMAND_TOO_LARGE } from './dispatch';

/** Far over the limit below once in a command's input. */
const BIG = 'x'.repeat(5_000);
const LIMIT = 2_000;
/** A mapping that leaves the large field out (without one a step gets the whole input). */
const SMALL = { sku: '$.input.sku' };

const undeliverable = (history: { type: string }[]) => history.filter((event) => event.type === 'step.undeliverable');

describe('a command too large to send', () => {
  it('is never sent: the saga step fails with COMMAND_TOO_LARGE without an attempt, and only what ran is compensated', () => {
    const definition = sagaDefinition([
      { id: 'a', input: SMALL },
      { id: 'b', dependsOn: ['a'], input: { blob: '$.input.blob' } },
    ]);
    const saga = new SagaRun(definition, { sku: 'A-1', blob: BIG });
    saga.maxCommandBytes = LIMIT;
    saga.start();
    expect(saga.sent).toEqual(['execute:a#1']);
    saga.reply('a', 'success');
    // b's command is not sent; b failed, and a (which ran) is compensated; b (which never ran) is not.
    expect(saga.sent).toEqual(['compensate:a#1']);
    expect(undeliverable(saga.history)).toEqual([
      { type: 'step.undeliverable', stepId: 'b', phase: 'execute', bytes: expect.any(Number), maxBytes: LIMIT },
    ]);
    expect(saga.step('b')).toMatchObject({ status: 'failed', attempt: 0, waitingFor: null, lastError: { code: COMMAND_TOO_LARGE } });
    expect(saga.state.status).toBe('compensating');
    saga.reply('a', 'success');
    expect(saga.state.status).toBe('compensated');
  });

  it('ends a saga whose first command cannot be sent at once, having sent nothing', () => {
    const saga = new SagaRun(
      sagaDefinition([
        { id: 'a', input: { blob: '$.input.blob' } },
        { id: 'b', dependsOn: ['a'] },
      ]),
      { blob: BIG },
    );
    saga.maxCommandBytes = LIMIT;
    saga.start();
    expect(saga.sent).toEqual([]);
    expect(saga.state.status).toBe('compensated');
    expect(saga.step('a')).toMatchObject({ status: 'failed', attempt: 0 });
    expect(saga.step('b').status).toBe('skipped');
  });

  it('sends the commands that fit as before', () => {
    const saga = new SagaRun(sagaDefinition([{ id: 'a' }, { id: 'b' }]), { blob: 'small' });
    saga.maxCommandBytes = LIMIT;
    saga.start();
    expect(saga.sent).toEqual(['execute:a#1', 'execute:b#1']);
    expect(undeliverable(saga.history)).toEqual([]);
  });

  it('cancels the TCC steps that were tried, not the one whose try was never sent', () => {
    const tcc = new TccRun(
      tccDefinition([
        { id: 'a', input: SMALL },
        { id: 'b', input: { blob: '$.input.blob' } },
      ]),
      { sku: 'A-1', blob: BIG },
    );
    tcc.maxCommandBytes = LIMIT;
    tcc.start();
    expect(tcc.sent).toEqual(['try:a#1']);
    expect(tcc.step('b')).toMatchObject({ attempt: 0, lastError: { code: COMMAND_TOO_LARGE } });
    tcc.reply('a', 'success');
    expect(tcc.sent).toEqual(['cancel:a#1']);
    tcc.reply('a', 'success');
    expect(tcc.state.status).toBe('compensated');
  });

  it('aborts a 2PC transaction when a prepare cannot be sent: the vote is no', () => {
    const tx = new TwoPcRun(
      twoPcDefinition([
        { id: 'a', input: SMALL },
        { id: 'b', input: { blob: '$.input.blob' } },
      ]),
      { sku: 'A-1', blob: BIG },
    );
    tx.maxCommandBytes = LIMIT;
    tx.start();
    // b votes no without a prepare sent: the decision is abort at once, and only a gets commands.
    expect(decisionOf(tx.state)).toBe('abort');
    expect(tx.sent).toEqual(['prepare:a#1', 'abort:a#1']);
    expect(tx.step('b')).toMatchObject({ attempt: 0, lastError: { code: COMMAND_TOO_LARGE } });
    tx.reply('a', 'success', { phase: 'prepare', attempt: 1 });
    tx.reply('a', 'success');
    expect(tx.state.status).toBe('compensated');
  });
});
