import { randomBytes } from 'crypto';
import { Command, HEADERS, topicNames } from '@ordo/protocol';
import { collect, testBus } from '../support/kafka';
import { testEnv } from '../support/test-env';
import { testActor } from '../support/auth';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import {
  Behaviour,
  failCompensationFirst,
  failForward,
  LogEntry,
  replyTwice,
  retryFirst,
  script,
  silentFirst,
  staleReplyFirst,
  success,
  TestParticipant,
  when,
} from '../support/test-participant';

/**
 * Sagas end to end: a real coordinator process, real PostgreSQL and Kafka, and scripted
 * participants. Each test picks its participants' behaviour through the transaction's
 * input (`case`), since every step receives the transaction input.
 */
describe('saga', () => {
  const suffix = randomBytes(3).toString('hex');
  const [shop, bank] = [`shop-${suffix}`, `bank-${suffix}`];
  const log: LogEntry[] = [];
  const cases: Record<string, Behaviour> = {};
  const byCase: Behaviour = (command: Command, ctx) => (cases[command.input.case as string] ?? script())(command, ctx);
  const participants = [shop, bank].map((name) => new TestParticipant({ name, behaviour: byCase, log }));
  let coordinator: RunningApp;
  let api: CoordinatorApi;
  let operator: CoordinatorApi;

  // create → (reserve ∥ charge) → confirm; confirm cannot be undone (the pivot).
  const definition = (name: string, extra: object = {}) => ({
    name,
    type: 'saga',
    defaults: { timeoutMs: 3000, retry: { maxAttempts: 3, initialDelayMs: 50, multiplier: 2, maxDelayMs: 200 } },
    steps: [
      { id: 'create', participant: shop, action: 'create-order', compensation: 'cancel-order' },
      { id: 'reserve', participant: shop, action: 'reserve', compensation: 'release', dependsOn: ['create'] },
      {
        id: 'charge',
        participant: bank,
        action: 'charge',
        compensation: 'refund',
        dependsOn: ['create'],
        input: { orderId: '$.steps.create.output.orderId', case: '$.input.case' },
      },
      { id: 'confirm', participant: shop, action: 'confirm-order', dependsOn: ['reserve', 'charge'] },
    ],
    ...extra,
  });
  const flow = `saga-${suffix}`;

  const statuses = (tx: { steps: { id: string; status: string }[] }) => Object.fromEntries(tx.steps.map((s) => [s.id, s.status]));
  const entries = (txId: string, phase: string) => log.filter((e) => e.txId === txId && e.phase === phase && e.effect);
  const startCase = async (name: string, behaviour: Behaviour, definitionName = flow) => {
    cases[name] = behaviour;
    return api.start(definitionName, { case: name });
  };

  beforeAll(async () => {
    await Promise.all(participants.map((p) => p.start()));
    coordinator = await startApp('coordinator');
    api = new CoordinatorApi(coordinator.url);
    operator = new CoordinatorApi(coordinator.url, 'operator');
    await api.register(definition(flow));
  });

  afterAll(async () => {
    await coordinator?.stop();
    await Promise.all(participants.map((p) => p.stop()));
  });

  it('completes when every step succeeds, passing outputs along', async () => {
    const tx = await startCase('happy', script(when({ stepId: 'create', phase: 'execute' }, success({ orderId: 'o-1' }))));
    expect(tx.status).toBe('running');
    const done = await api.waitFor(tx.id, TERMINAL);
    expect(done.status).toBe('completed');
    expect(statuses(done)).toEqual({ create: 'succeeded', reserve: 'succeeded', charge: 'succeeded', confirm: 'succeeded' });
    expect(done.steps.find((s) => s.id === 'create')!.output).toEqual({ orderId: 'o-1' });
    const charge = log.find((e) => e.txId === tx.id && e.stepId === 'charge')!;
    expect(charge).toBeDefined();
    for (const step of ['create', 'reserve', 'charge', 'confirm']) {
      expect(participants.map((p) => p.count(tx.id, step, 'execute').effects).reduce((a, b) => a + b)).toBe(1);
    }
    expect(entries(tx.id, 'compensate')).toHaveLength(0);
  });

  it('compensates completed steps in reverse dependency order after a business failure', async () => {
    const tx = await startCase('refused', script(failForward('charge', 'INSUFFICIENT_FUNDS')));
    const done = await api.waitFor(tx.id, TERMINAL);
    expect(done.status).toBe('compensated');
    expect(statuses(done)).toMatchObject({ create: 'compensated', charge: 'compensated', confirm: 'skipped' });
    expect(done.steps.find((s) => s.id === 'charge')!.lastError).toEqual({ code: 'INSUFFICIENT_FUNDS', message: 'scripted INSUFFICIENT_FUNDS' });
    // create is undone only after everything that depends on it.
    const compensations = log.filter((e) => e.txId === tx.id && e.phase === 'compensate').map((e) => e.stepId);
    expect(compensations[compensations.length - 1]).toBe('create');
    expect(new Set(compensations)).toEqual(
      new Set(statuses(done).reserve === 'compensated' ? ['create', 'reserve', 'charge'] : ['create', 'charge']),
    );
    // The refused charge gets a null compensation: no effect at the participant.
    expect(entries(tx.id, 'compensate').map((e) => e.stepId)).not.toContain('charge');
  });

  it('retries transient errors with backoff', async () => {
    const tx = await startCase('transient', script(retryFirst('reserve', 'execute', 2)));
    const done = await api.waitFor(tx.id, TERMINAL);
    expect(done.status).toBe('completed');
    const reserve = done.steps.find((s) => s.id === 'reserve')!;
    expect(reserve.attempt).toBe(3);
    expect(participants[0].count(tx.id, 'reserve', 'execute')).toEqual({ deliveries: 3, effects: 1 });
    const retries = (await api.events(tx.id)).filter((e) => e.type === 'step.retry_scheduled' && e.stepId === 'reserve');
    expect(retries).toHaveLength(2);
  });

  it('times out an attempt that gets no reply and retries it', async () => {
    const tx = await startCase('silent', script(silentFirst('charge', 'execute')));
    const done = await api.waitFor(tx.id, TERMINAL);
    expect(done.status).toBe('completed');
    const events = await api.events(tx.id);
    expect(events.some((e) => e.type === 'step.timed_out' && e.stepId === 'charge')).toBe(true);
    expect(done.steps.find((s) => s.id === 'charge')!.attempt).toBe(2);
  });

  it('rolls back when the transaction deadline passes', async () => {
    const slow = `${flow}-deadline`;
    // reserve answers long after the deadline (and after its own per-attempt timeout).
    await api.register(definition(slow, { timeoutMs: 800, defaults: { timeoutMs: 5000, retry: { maxAttempts: 2, initialDelayMs: 50 } } }));
    const tx = await startCase('deadline', script(when({ stepId: 'reserve', phase: 'execute' }, { kind: 'delay', ms: 1500, then: success() })), slow);
    const done = await api.waitFor(tx.id, TERMINAL);
    expect(done.status).toBe('compensated');
    const events = await api.events(tx.id);
    const rollback = events.find((e) => e.type === 'transaction.status_changed' && e.data.to === 'compensating')!;
    expect(rollback.data.cause).toEqual({ kind: 'deadline' });
    expect(statuses(done)).toMatchObject({ create: 'compensated', reserve: 'compensated', confirm: 'skipped' });
  });

  it('fails when a compensation exhausts its budget, and a replay then compensates', async () => {
    const tx = await startCase('stuck', script(failForward('charge', 'DECLINED'), failCompensationFirst('create', 3)));
    const failed = await api.waitFor(tx.id, TERMINAL);
    expect(failed.status).toBe('failed');
    expect(statuses(failed).create).toBe('compensation_failed');

    const replay = await operator.request('POST', `/transactions/${tx.id}/retry`);
    expect(replay.status).toBe(200);
    const done = await api.waitFor(tx.id, ['compensated', 'completed']);
    expect(done.status).toBe('compensated');
    expect(participants[0].count(tx.id, 'create', 'compensate').effects).toBe(1);
    const retried = (await api.events(tx.id)).find((e) => e.type === 'operator.retried')!;
    expect(retried.actor).toBe(testActor('operator'));
  });

  it('ignores duplicate replies and replies to old attempts', async () => {
    const tx = await startCase(
      'noisy',
      script(replyTwice('create', 'execute'), retryFirst('charge', 'execute', 1), staleReplyFirst('charge', 'execute')),
    );
    const done = await api.waitFor(tx.id, TERMINAL);
    expect(done.status).toBe('completed');
    const ignored = (await api.events(tx.id)).filter((e) => e.type === 'step.reply_ignored');
    expect(ignored.map((e) => `${e.stepId}:${e.data.reason as string}`).sort()).toEqual(['charge:attempt_mismatch', 'create:not_awaited']);
    expect(participants[0].count(tx.id, 'create', 'execute').effects).toBe(1);
  });

  it('returns the same transaction for the same idempotency key', async () => {
    const key = `order-${suffix}`;
    const first = await api.request<{ id: string }>('POST', '/transactions', { definition: flow, input: { case: 'happy' }, idempotencyKey: key });
    const again = await api.request<{ id: string }>('POST', '/transactions', { definition: flow, input: { case: 'happy' }, idempotencyKey: key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const page = await api.request<{ items: { id: string }[] }>('GET', `/transactions?definition=${flow}&limit=500`);
    expect(page.body.items.filter((t) => t.id === first.body.id)).toHaveLength(1);
  });

  it("answers concurrent starts, written together, each with its own transaction or its key's one", async () => {
    const key = `burst-${suffix}`;
    const start = (idempotencyKey?: string) =>
      api.request<{ id: string }>('POST', '/transactions', { definition: flow, input: { case: 'happy' }, ...(idempotencyKey && { idempotencyKey }) });
    const answers = await Promise.all([...Array.from({ length: 12 }, () => start()), ...Array.from({ length: 4 }, () => start(key))]);
    const plain = answers.slice(0, 12);
    const keyed = answers.slice(12);
    expect(plain.map((a) => a.status)).toEqual(Array(12).fill(201));
    expect(new Set(plain.map((a) => a.body.id)).size).toBe(12);
    expect(keyed.map((a) => a.status).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(keyed.map((a) => a.body.id)).size).toBe(1);
    const ends = await Promise.all([...plain, keyed[0]].map((a) => api.waitFor(a.body.id, TERMINAL)));
    expect(ends.map((t) => t.status)).toEqual(Array(13).fill('completed'));
  });

  it('rolls back a running transaction an operator aborts', async () => {
    const tx = await startCase('abort', script(when({ stepId: 'charge', phase: 'execute' }, { kind: 'delay', ms: 600, then: success() })));
    await new Promise((r) => setTimeout(r, 200));
    const abort = await operator.request('POST', `/transactions/${tx.id}/abort`, { reason: 'customer called' });
    expect(abort.status).toBe(200);
    const done = await api.waitFor(tx.id, TERMINAL);
    expect(done.status).toBe('compensated');
    const again = await api.request<{ error: { code: string } }>('POST', `/transactions/${tx.id}/abort`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('NOT_RUNNING');
  });

  it("dead-letters malformed replies and replies without their command's token, and keeps going", async () => {
    const topics = topicNames(testEnv().topicPrefix);
    const bus = testBus('saga-dlq');
    const dead = await collect(bus, [topics.deadLetter(topics.replies)]);
    const unsigned = { txId: '00000000-0000-4000-8000-000000000000', stepId: 'x', phase: 'execute', attempt: 1, outcome: 'success' };
    await bus.publish([
      { topic: topics.replies, key: 'junk', value: 'not json' },
      { topic: topics.replies, key: 'junk', value: JSON.stringify({ txId: 'a', outcome: 'maybe' }) },
      { topic: topics.replies, key: unsigned.txId, value: JSON.stringify(unsigned) },
    ]);
    const reasons = await Promise.all([
      dead.waitFor((m) => m.value?.toString() === 'not json'),
      dead.waitFor((m) => m.headers[HEADERS.deadLetterReason]?.includes('outcome must be one of') ?? false),
      dead.waitFor((m) => m.key === unsigned.txId),
    ]);
    expect(reasons.map((m) => m.headers[HEADERS.deadLetterReason])).toEqual([
      'value is not JSON',
      expect.stringContaining('stepId must be a non-empty string'),
      expect.stringMatching(/^no token: replies must echo their command's token/),
    ]);
    await dead.close();
    await bus.close();
    const tx = await startCase('after-junk', script());
    expect((await api.waitFor(tx.id, TERMINAL)).status).toBe('completed');
  });

  it('answers bad requests with clear 4xx errors', async () => {
    const missing = await api.request<{ error: { code: string } }>('POST', '/transactions', { definition: 'no-such-flow', input: {} });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('DEFINITION_NOT_FOUND');
    const invalid = await api.request<{ error: { code: string; details: unknown[] } }>('POST', '/transactions', {
      definition: flow,
      input: 'x',
      extra: 1,
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.length).toBeGreaterThanOrEqual(2);
    expect((await api.request('GET', '/transactions/not-a-uuid')).status).toBe(400);
    expect((await api.request('GET', '/transactions?limit=9999')).status).toBe(400);
    expect((await api.request('GET', '/transactions?cursor=garbage')).status).toBe(400);
  });
});
