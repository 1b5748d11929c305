import { randomBytes } from 'crypto';
import { Command } from '@ordo/protocol';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { Behaviour, failForward, LogEntry, retryFirst, script, TestParticipant } from '../support/test-participant';

/**
 * TCC and two-phase commit through the real coordinator, Kafka and PostgreSQL, with
 * scripted participants (behaviour chosen by the transaction input's `case`).
 */
describe('TCC and 2PC', () => {
  const suffix = randomBytes(3).toString('hex');
  const [left, right] = [`left-${suffix}`, `right-${suffix}`];
  const log: LogEntry[] = [];
  const cases: Record<string, Behaviour> = {};
  const byCase: Behaviour = (command: Command, ctx) => (cases[command.input.case as string] ?? script())(command, ctx);
  const participants = [left, right].map((name) => new TestParticipant({ name, behaviour: byCase, log }));
  let coordinator: RunningApp;
  let api: CoordinatorApi;

  const definition = (name: string, type: 'tcc' | '2pc') => ({
    name,
    type,
    defaults: { timeoutMs: 1000, retry: { maxAttempts: 3, initialDelayMs: 50, multiplier: 2, maxDelayMs: 200 } },
    steps: [
      { id: 'debit', participant: left, action: 'debit' },
      { id: 'credit', participant: right, action: 'credit' },
    ],
  });
  const tcc = `transfer-${suffix}`;
  const twoPc = `twopc-${suffix}`;
  const phases = (txId: string) =>
    log
      .filter((e) => e.txId === txId && e.effect)
      .map((e) => `${e.stepId}:${e.phase}`)
      .sort();
  const run = async (flow: string, name: string, behaviour: Behaviour) => {
    cases[name] = behaviour;
    const tx = await api.start(flow, { case: name });
    return api.waitFor(tx.id, TERMINAL);
  };

  beforeAll(async () => {
    await Promise.all(participants.map((p) => p.start()));
    coordinator = await startApp('coordinator');
    api = new CoordinatorApi(coordinator.url);
    await api.register(definition(tcc, 'tcc'));
    await api.register(definition(twoPc, '2pc'));
  });

  afterAll(async () => {
    await coordinator?.stop();
    await Promise.all(participants.map((p) => p.stop()));
  });

  it('TCC: tries both, then confirms both', async () => {
    const done = await run(tcc, 'tcc-ok', script(retryFirst('credit', 'confirm', 1)));
    expect(done.status).toBe('completed');
    expect(phases(done.id)).toEqual(['credit:confirm', 'credit:try', 'debit:confirm', 'debit:try']);
  });

  it('TCC: a refused try cancels the tried steps and confirms none', async () => {
    const done = await run(tcc, 'tcc-refused', script(failForward('credit', 'ACCOUNT_CLOSED')));
    expect(done.status).toBe('compensated');
    // credit refused (its cancel is a null cancel at the barrier): only debit is undone.
    expect(phases(done.id)).toEqual(['debit:cancel', 'debit:try']);
  });

  it('2PC: all vote yes, the decision is COMMIT and both commit', async () => {
    const done = await run(twoPc, '2pc-ok', script(retryFirst('debit', 'commit', 1)));
    expect(done.status).toBe('completed');
    expect(phases(done.id)).toEqual(['credit:commit', 'credit:prepare', 'debit:commit', 'debit:prepare']);
    expect((await api.request<{ decision: string }>('GET', `/transactions/${done.id}`)).body.decision).toBe('commit');
    const events = await api.events(done.id);
    const decided = events.findIndex((e) => e.type === 'transaction.decided');
    const firstCommit = events.findIndex((e) => e.type === 'step.dispatched' && e.data.phase === 'commit');
    expect(decided).toBeGreaterThanOrEqual(0);
    expect(decided).toBeLessThan(firstCommit);
  });

  it('2PC: a NO vote aborts the other participant and the decision reads abort', async () => {
    const done = await run(twoPc, '2pc-no', script(failForward('credit', 'NO')));
    expect(done.status).toBe('compensated');
    expect(phases(done.id)).toEqual(['debit:abort', 'debit:prepare']);
    expect((await api.request<{ decision: string }>('GET', `/transactions/${done.id}`)).body.decision).toBe('abort');
  });
});
