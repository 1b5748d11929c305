import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { sleep, waitFor } from '../../tools/infra/proc';
import { testActor } from '../support/auth';
import { codeOf, CoordinatorApi, EventView, TxView } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { RETRY, success, TestParticipant } from '../support/test-participant';
import { testEnv } from '../support/test-env';

/**
 * The operator actions beyond abort, retry and resolve, through the REST API of a real
 * coordinator: pause and resume (one, by filter, and a participant), retry now, attempts,
 * edit and retry, skip and fail. Each needs the operator role, and each lands in the history
 * with its actor and note (a participant's pause and resume in the audit log). No participant
 * consumes these commands (except in the last test, whose scripted participant shows an edited
 * input reaching it): the steps wait, time out and retry as the tests need.
 */
describe('operator actions', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const schema = 'ordo_operator_actions';
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}operator-actions.`, DATABASE_SCHEMA: schema, PAUSE_REFRESH_MS: '200' };
  const quiet = `quiet-${suffix}`;
  const db = new Client({ connectionString: env.databaseUrl });
  let coordinator: RunningApp;
  const as = (role: 'operator' | 'viewer' | 'admin') => new CoordinatorApi(coordinator.url, role);
  const step = (tx: TxView, id: string) => tx.steps.find((s) => s.id === id)!;
  const lastOf = async (id: string, type: string): Promise<EventView | undefined> =>
    (await as('viewer').events(id)).filter((e) => e.type === type).pop();

  /** a → b; a waits a minute for its reply, and a minute between attempts. */
  const slow = (name: string, participant: string, stepTimeoutMs = 60_000) => ({
    name,
    type: 'saga',
    timeoutMs: 120_000,
    defaults: { timeoutMs: stepTimeoutMs, retry: { maxAttempts: 3, initialDelayMs: 60_000, multiplier: 1, maxDelayMs: 60_000, jitter: 'none' } },
    steps: [
      { id: 'a', participant, action: 'do-a', compensation: 'undo-a' },
      { id: 'b', participant, action: 'do-b', compensation: 'undo-b', dependsOn: ['a'], input: { v: '$.steps.a.output.v' } },
    ],
  });
  const start = async (definition: string, tags?: Record<string, string>) =>
    (await as('operator').request<TxView>('POST', '/transactions', { definition, input: {}, tags })).body;

  beforeAll(async () => {
    await db.connect();
    coordinator = await startApp('coordinator', world);
    await as('admin').register(slow(`slow-${suffix}`, quiet));
    // Attempts time out after 300 ms, then wait a minute for their retry.
    await as('admin').register(slow(`backoff-${suffix}`, quiet, 300));
  });

  afterAll(() => db.end());

  it('pauses and resumes a transaction: operators only, recorded with the actor and the note; timers move on by the time paused', async () => {
    const tx = await start(`slow-${suffix}`);
    const path = `/transactions/${tx.id}`;
    expect(codeOf(await as('viewer').request('POST', `${path}/pause`, {}))).toEqual([403, 'FORBIDDEN']);
    const paused = await as('operator').request<TxView & { paused: { actor: string }; deadline: string }>('POST', `${path}/pause`, {
      note: 'checking',
    });
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toMatchObject({ actor: testActor('operator'), participants: [] });
    expect(await lastOf(tx.id, 'operator.paused')).toMatchObject({ actor: testActor('operator'), data: { note: 'checking' } });
    expect(codeOf(await as('operator').request('POST', `${path}/pause`, {}))).toEqual([409, 'ALREADY_PAUSED']);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${schema}.timers WHERE tx_id = $1`, [tx.id]);
    expect(rows[0].n).toBe(0);
    const listed = await as('viewer').request<{ items: TxView[] }>('GET', `/transactions?paused=true&definition=slow-${suffix}`);
    expect(listed.body.items.map((t) => t.id)).toContain(tx.id);

    await sleep(300);
    expect(codeOf(await as('viewer').request('POST', `${path}/resume`, {}))).toEqual([403, 'FORBIDDEN']);
    const resumed = await as('operator').request<TxView & { paused: null; deadline: string }>('POST', `${path}/resume`, {});
    expect([resumed.status, resumed.body.paused]).toEqual([200, null]);
    const { data } = (await lastOf(tx.id, 'transaction.resumed'))!;
    expect(data.pausedMs).toBeGreaterThanOrEqual(300);
    expect(Date.parse(resumed.body.deadline)).toBe(Date.parse(paused.body.deadline) + Number(data.pausedMs));
    expect((await lastOf(tx.id, 'operator.resumed'))?.actor).toBe(testActor('operator'));
    expect(codeOf(await as('operator').request('POST', `${path}/resume`, {}))).toEqual([409, 'NOT_PAUSED']);
  });

  it('pauses and resumes every transaction matching a filter', async () => {
    const tag = { batch: suffix };
    const ids = [(await start(`slow-${suffix}`, tag)).id, (await start(`slow-${suffix}`, tag)).id];
    const filter = { tag: [`batch:${suffix}`], note: 'bulk' };
    expect(codeOf(await as('viewer').request('POST', '/transactions/pause', filter))).toEqual([403, 'FORBIDDEN']);
    expect((await as('operator').request('POST', '/transactions/pause', filter)).body).toEqual({ paused: 2 });
    for (const id of ids) expect((await as('viewer').get(id)) as unknown).toMatchObject({ paused: { actor: testActor('operator') } });
    const counted = await as('viewer').request<{ total: number }>('GET', `/transactions/counts?paused=true&tag=batch:${suffix}`);
    expect(counted.body.total).toBe(2);
    expect((await as('operator').request('POST', '/transactions/resume', filter)).body).toEqual({ resumed: 2 });
    for (const id of ids) expect((await as('viewer').get(id)) as unknown).toMatchObject({ paused: null });
  });

  it('pauses a participant: its transactions wait, shown on the participants list; resuming it resumes them; both audited', async () => {
    const participant = `held-${suffix}`;
    await as('admin').register(slow(`held-${suffix}`, participant));
    expect(codeOf(await as('viewer').request('POST', `/participants/${participant}/pause`, {}))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await as('operator').request('POST', '/participants/Not_A_Name/pause', {}))).toEqual([400, 'VALIDATION_FAILED']);
    const paused = await as('operator').request('POST', `/participants/${participant}/pause`, { note: 'maintenance' });
    expect(paused).toMatchObject({ status: 200, body: { by: testActor('operator'), note: 'maintenance' } });
    expect(codeOf(await as('operator').request('POST', `/participants/${participant}/pause`, {}))).toEqual([409, 'ALREADY_PAUSED']);
    const listed = await as('viewer').request<{ items: { participant: string; paused: unknown }[] }>('GET', '/participants');
    expect(listed.body.items.find((p) => p.participant === participant)?.paused).toMatchObject({ by: testActor('operator') });

    const tx = await start(`held-${suffix}`);
    expect(tx).toMatchObject({ paused: { actor: null, participants: [participant] } });
    expect(step(tx, 'a')).toMatchObject({ status: 'running', attempt: 0 });
    expect((await as('viewer').events(tx.id)).map((e) => e.type)).toContain('transaction.paused');
    // Both pauses are stored: a restarted coordinator holds them as before.
    await coordinator.stop();
    coordinator = await startApp('coordinator', { ...world, PORT: String(coordinator.port) });
    expect(await as('viewer').get(tx.id)).toMatchObject({ paused: { participants: [participant] } });
    expect((await as('viewer').request<{ items: { participant: string }[] }>('GET', '/participants')).body.items.map((p) => p.participant)).toContain(
      participant,
    );

    const resumed = await as('operator').request('POST', `/participants/${participant}/resume`, { note: 'done' });
    expect(resumed).toMatchObject({ status: 200, body: { participant, resumed: 1 } });
    const after = await as('viewer').get(tx.id);
    expect([(after as unknown as { paused: unknown }).paused, step(after, 'a').attempt]).toEqual([null, 1]);
    expect(await lastOf(tx.id, 'operator.participant_resumed')).toMatchObject({ actor: testActor('operator'), data: { participant } });
    expect(codeOf(await as('operator').request('POST', `/participants/${participant}/resume`, {}))).toEqual([409, 'NOT_PAUSED']);
    const audit = await db.query(`SELECT type, actor, data FROM ${schema}.audit_log WHERE data ->> 'participant' = $1 ORDER BY id`, [participant]);
    expect(audit.rows).toEqual([
      { type: 'operator.participant_paused', actor: testActor('operator'), data: { participant, note: 'maintenance' } },
      { type: 'operator.participant_resumed', actor: testActor('operator'), data: { participant, note: 'done', pausedMs: expect.any(Number) } },
    ]);
  });

  it("holds a participant's commands on every instance once its pause has answered", async () => {
    const participant = `shared-${suffix}`;
    await as('admin').register(slow(`shared-${suffix}`, participant));
    const other = await startApp('coordinator', world);
    try {
      const onOther = new CoordinatorApi(other.url, 'operator');
      // The other instance has read the (empty) list of paused participants: it holds it for PAUSE_REFRESH_MS.
      expect((await onOther.request<TxView>('POST', '/transactions', { definition: `shared-${suffix}`, input: {} })).body).toMatchObject({
        paused: null,
      });
      expect((await as('operator').request('POST', `/participants/${participant}/pause`, {})).status).toBe(200);
      const held = (await onOther.request<TxView>('POST', '/transactions', { definition: `shared-${suffix}`, input: {} })).body;
      expect(held).toMatchObject({ paused: { participants: [participant] } });
      expect(step(held, 'a').attempt).toBe(0);
      expect((await as('operator').request('POST', `/participants/${participant}/resume`, {})).body).toEqual({ participant, resumed: 1 });
      expect(step(await onOther.get(held.id), 'a').attempt).toBe(1);
    } finally {
      await other.stop();
    }
  });

  it('retries a step now, skipping its backoff, and changes its attempts', async () => {
    const tx = await start(`backoff-${suffix}`);
    const path = `/transactions/${tx.id}/steps/a`;
    expect(codeOf(await as('operator').request('POST', `${path}/retry-now`, {}))).toEqual([409, 'STEP_NOT_SCHEDULED']);
    // The first attempt times out after 300 ms; the retry waits a minute.
    await waitFor('a retry scheduled', async () => ((await lastOf(tx.id, 'step.retry_scheduled')) ? true : undefined), 15_000);
    expect(codeOf(await as('viewer').request('POST', `${path}/retry-now`, {}))).toEqual([403, 'FORBIDDEN']);
    const now = await as('operator').request<TxView>('POST', `${path}/retry-now`, { note: 'it is back' });
    expect([now.status, step(now.body, 'a').attempt]).toEqual([200, 2]);
    expect(await lastOf(tx.id, 'operator.retried_now')).toMatchObject({ actor: testActor('operator'), stepId: 'a', data: { note: 'it is back' } });

    expect(codeOf(await as('viewer').request('POST', `${path}/attempts`, { attemptsLeft: 9 }))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await as('operator').request('POST', `${path}/attempts`, { attemptsLeft: 101 }))).toEqual([400, 'VALIDATION_FAILED']);
    const changed = await as('operator').request<TxView & { steps: { attemptsLeft: number }[] }>('POST', `${path}/attempts`, { attemptsLeft: 9 });
    expect([changed.status, changed.body.steps[0].attemptsLeft]).toEqual([200, 9]);
    expect(await lastOf(tx.id, 'operator.attempts_changed')).toMatchObject({ actor: testActor('operator'), data: { from: 1, to: 9 } });
    expect(codeOf(await as('operator').request('POST', `/transactions/${tx.id}/steps/nope/attempts`, { attemptsLeft: 1 }))).toEqual([
      404,
      'UNKNOWN_STEP',
    ]);
  });

  it('skips a step with an output its dependents read, and fails a pending step, which rolls back', async () => {
    const tx = await start(`slow-${suffix}`);
    const path = `/transactions/${tx.id}/steps`;
    expect(codeOf(await as('viewer').request('POST', `${path}/a/skip`, { note: 'x' }))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await as('operator').request('POST', `${path}/a/skip`, {}))).toEqual([400, 'VALIDATION_FAILED']);
    const skipped = await as('operator').request<TxView>('POST', `${path}/a/skip`, { output: { v: 7 }, note: 'done by hand' });
    expect(skipped.status).toBe(200);
    expect(step(skipped.body, 'a')).toMatchObject({ status: 'succeeded', output: { v: 7 } });
    expect(step(skipped.body, 'b')).toMatchObject({ status: 'running', attempt: 1 });
    expect(await lastOf(tx.id, 'operator.skipped')).toMatchObject({ actor: testActor('operator'), data: { output: { v: 7 }, note: 'done by hand' } });
    expect(codeOf(await as('operator').request('POST', `${path}/a/skip`, { note: 'again' }))).toEqual([409, 'STEP_NOT_PENDING']);

    expect(codeOf(await as('viewer').request('POST', `${path}/b/fail`, { note: 'x' }))).toEqual([403, 'FORBIDDEN']);
    const failed = await as('operator').request<TxView>('POST', `${path}/b/fail`, { note: 'the partner is down for good' });
    expect([failed.status, failed.body.status]).toEqual([200, 'compensating']);
    expect(step(failed.body, 'b').lastError).toEqual({ code: 'OPERATOR_FAILED', message: 'the partner is down for good' });
    expect(await lastOf(tx.id, 'operator.failed_step')).toMatchObject({
      actor: testActor('operator'),
      data: { note: 'the partner is down for good' },
    });
  });

  it("edits a step's input and retries it: operators only, validated and size-limited, the old and new input in the history", async () => {
    const tx = (await as('operator').request<TxView>('POST', '/transactions', { definition: `backoff-${suffix}`, input: { sku: 'BAD' } })).body;
    const path = `/transactions/${tx.id}/steps/a`;
    const body = { input: { sku: 'GOOD' }, note: 'typo in the sku, ticket OPS-7' };
    // Its first attempt is out: nothing to retry yet.
    expect(codeOf(await as('operator').request('POST', `${path}/edit-and-retry`, body))).toEqual([409, 'STEP_NOT_RETRIABLE']);
    await waitFor('a retry scheduled', async () => ((await lastOf(tx.id, 'step.retry_scheduled')) ? true : undefined), 15_000);
    expect((await as('viewer').request('GET', `${path}/input`)).body).toEqual({ input: { sku: 'BAD' }, edited: false });

    expect(codeOf(await as('viewer').request('POST', `${path}/edit-and-retry`, body))).toEqual([403, 'FORBIDDEN']);
    expect(codeOf(await as('operator').request('POST', `${path}/edit-and-retry`, { input: { sku: 'GOOD' } }))).toEqual([400, 'VALIDATION_FAILED']);
    expect(codeOf(await as('operator').request('POST', `${path}/edit-and-retry`, { input: '{"sku":1}', note: 'x' }))).toEqual([
      400,
      'VALIDATION_FAILED',
    ]);
    const huge = { input: { blob: 'x'.repeat(300 * 1024) }, note: 'too big' };
    expect(codeOf(await as('operator').request('POST', `${path}/edit-and-retry`, huge))).toEqual([413, 'INPUT_TOO_LARGE']);
    expect(codeOf(await as('operator').request('POST', `/transactions/${tx.id}/steps/nope/edit-and-retry`, body))).toEqual([404, 'UNKNOWN_STEP']);

    const edited = await as('operator').request<TxView & { steps: { input: unknown }[] }>('POST', `${path}/edit-and-retry`, body);
    expect(edited.status).toBe(200);
    expect(step(edited.body, 'a')).toMatchObject({ status: 'running', attempt: 2, waitingFor: 'reply', input: { sku: 'GOOD' } });
    expect(await lastOf(tx.id, 'operator.input_edited')).toMatchObject({
      actor: testActor('operator'),
      stepId: 'a',
      data: { from: { sku: 'BAD' }, to: { sku: 'GOOD' }, note: 'typo in the sku, ticket OPS-7' },
    });
    expect((await as('viewer').request('GET', `${path}/input`)).body).toEqual({ input: { sku: 'GOOD' }, edited: true });
    // The history keeps it past retention: operator events move to the audit log there.
    const { rows } = await db.query(`SELECT actor, data FROM ${schema}.events WHERE tx_id = $1 AND type = 'operator.input_edited'`, [tx.id]);
    expect(rows).toEqual([{ actor: testActor('operator'), data: expect.objectContaining({ from: { sku: 'BAD' }, to: { sku: 'GOOD' } }) }]);
  });

  it('delivers the edited input to the participant: its next attempt carries it, and the transaction completes', async () => {
    const participant = `picky-${suffix}`;
    // Refuses (transiently) every sku but GOOD, as a stock service would an unknown one.
    const picky = new TestParticipant({
      name: participant,
      topicPrefix: world.KAFKA_TOPIC_PREFIX,
      behaviour: (command) => (command.input.sku === 'GOOD' ? success({ reserved: 'GOOD' }) : RETRY),
    });
    await picky.start();
    try {
      const definition = {
        ...slow(`picky-${suffix}`, participant, 10_000),
        steps: [{ id: 'a', participant, action: 'reserve', compensation: 'release', input: { sku: '$.input.sku' } }],
      };
      await as('admin').register(definition);
      const tx = (await as('operator').request<TxView>('POST', '/transactions', { definition: definition.name, input: { sku: 'BAD' } })).body;
      await waitFor('a retry scheduled', async () => ((await lastOf(tx.id, 'step.retry_scheduled')) ? true : undefined), 15_000);
      const body = { input: { sku: 'GOOD' }, note: 'the customer meant GOOD' };
      expect((await as('operator').request('POST', `/transactions/${tx.id}/steps/a/edit-and-retry`, body)).status).toBe(200);
      await waitFor('completed', async () => ((await as('viewer').get(tx.id)).status === 'completed' ? true : undefined), 15_000);
      expect(picky.received(tx.id).map((entry) => [entry.attempt, entry.reply?.outcome])).toEqual([
        [1, 'retry'],
        [2, 'success'],
      ]);
      expect(step(await as('viewer').get(tx.id), 'a').output).toEqual({ reserved: 'GOOD' });
    } finally {
      await picky.stop();
    }
  });
});
