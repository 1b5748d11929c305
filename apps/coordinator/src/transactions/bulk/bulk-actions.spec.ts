import { eventOf, missingParams, scopeOf } from './bulk-actions';

describe('bulk actions', () => {
  it('keeps of the filter only the transactions each action may apply to', () => {
    const filter = { definition: 'place-order', tag: ['customer:ada'] };
    expect(scopeOf('retry', filter)).toEqual({ ...filter, status: 'failed' });
    expect(scopeOf('abort', filter)).toEqual({ ...filter, status: 'running' });
    expect(scopeOf('pause', { ...filter, paused: true })).toEqual({ ...filter, status: 'running', paused: false });
    expect(scopeOf('resume', filter)).toEqual({ ...filter, paused: true });
    expect(scopeOf('skip', { ...filter, status: 'running' })).toEqual({ ...filter, status: 'running' });
  });

  it('names every parameter an action lacks', () => {
    expect(missingParams('pause', {})).toEqual([]);
    expect(missingParams('set_attempts', {}).map((p) => p.path)).toEqual(['stepId', 'attemptsLeft']);
    expect(missingParams('fail_step', { stepId: 'a' }).map((p) => p.path)).toEqual(['note']);
    expect(missingParams('retry_now', { stepId: 'a' })).toEqual([]);
  });

  it("gives each transaction the operator's request, with the actor", () => {
    expect(eventOf('abort', { note: 'why' }, 'ops')).toEqual({ type: 'abort', actor: 'ops', reason: 'why' });
    expect(eventOf('skip', { stepId: 'a', note: 'by hand' }, 'ops')).toEqual({
      type: 'skip',
      actor: 'ops',
      stepId: 'a',
      output: null,
      note: 'by hand',
    });
    expect(eventOf('set_attempts', { stepId: 'a', attemptsLeft: 3 }, 'ops')).toEqual({
      type: 'set_attempts',
      actor: 'ops',
      stepId: 'a',
      attemptsLeft: 3,
    });
  });
});
