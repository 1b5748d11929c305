import { SagaRun, sagaDefinition, sent } from '../test/saga-harness';
import { SendEffect } from './effects';
import { COMMAND_TOO_LARGE, refuseOversizedCommands } from './oversized-commands';

/** A command's size here: its input's `size` field, so a test says which commands are too large. */
const bytesOf = (effect: SendEffect) => Number(effect.input.size ?? 10);

/** Applies `decided` with oversized commands refused, as the shell does, and keeps the result in `saga`. */
function refuse(saga: SagaRun, maxBytes: number) {
  const decide = (state: typeof saga.state, event: Parameters<SagaRun['apply']>[0]) => {
    saga.state = state;
    return saga.apply(event);
  };
  const result = refuseOversizedCommands(decide, { state: saga.state, effects: saga.effects }, bytesOf, maxBytes);
  saga.state = result.state;
  saga.effects = result.effects;
  return result;
}

describe('refuseOversizedCommands', () => {
  it('leaves a decision whose commands all fit as it is', () => {
    const saga = new SagaRun(sagaDefinition([{ id: 'a' }, { id: 'b' }])).start();
    const before = { state: saga.state, effects: saga.effects };
    expect(refuse(saga, 100)).toEqual(before);
  });

  it('fails the step of a command too large to send, and the saga rolls back what ran', () => {
    const definition = sagaDefinition([{ id: 'a' }, { id: 'b', dependsOn: ['a'], input: { size: '$.input.size' } }]);
    const saga = new SagaRun(definition, { size: 5_000 }).start();
    saga.reply('a', 'success');
    expect(saga.sent).toEqual(['execute:b#1']);
    refuse(saga, 1_000);
    // b's command is never sent; b failed with the reason, so a is compensated.
    expect(sent(saga.effects)).toEqual(['compensate:a#1']);
    expect(saga.step('b')).toMatchObject({ status: 'failed' });
    expect(saga.state.status).toBe('compensating');
    expect(JSON.stringify(saga.history)).toContain(COMMAND_TOO_LARGE);
  });

  it('refuses every oversized command of a decision, keeping those that fit', () => {
    const definition = sagaDefinition([{ id: 'a', input: { size: '$.input.big' } }, { id: 'b' }, { id: 'c', input: { size: '$.input.big' } }]);
    const saga = new SagaRun(definition, { big: 5_000 }).start();
    expect(saga.sent).toEqual(['execute:a#1', 'execute:b#1', 'execute:c#1']);
    refuse(saga, 1_000);
    expect(sent(saga.effects).filter((s) => s.startsWith('execute'))).toEqual(['execute:b#1']);
    expect(saga.step('a')).toMatchObject({ status: 'failed' });
    expect(saga.step('c')).toMatchObject({ status: 'failed' });
  });
});
