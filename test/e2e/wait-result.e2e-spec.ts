import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { Command } from '@ordo/protocol';
import { sleep, waitFor } from '../../tools/infra/proc';
import { bearer } from '../support/auth';
import { CoordinatorApi, TxView } from '../support/coordinator-api';
import { startConcurrently } from '../support/load';
import { RunningApp, startApp } from '../support/processes';
import { success, TestParticipant } from '../support/test-participant';
import { testEnv } from '../support/test-env';

const WAITERS = 1000;

/**
 * Waiting for a transaction's end (`?waitMs`): on the instance that decides it (woken right
 * after its commit) and on another one (woken by the change feed), within the bounds, and —
 * with a thousand waiters — at the database cost of none.
 */
describe('wait for the result', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  // Each command is answered after `input.ms`, in parallel: every transaction takes its own time.
  const participant = new TestParticipant({
    name: `waited-${suffix}`,
    parallel: true,
    behaviour: (command: Command) => ({ kind: 'delay', ms: Number(command.input.ms ?? 0), then: success() }),
  });
  // Started only once the thousand waiters are counted: until then its transactions run.
  const lazy = new TestParticipant({ name: `lazy-${suffix}`, parallel: true });
  const flow = `waited-${suffix}`;
  const slowFlow = `lazy-${suffix}`;
  const db = new Client({ connectionString: env.databaseUrl });
  let deciding: RunningApp;
  let other: RunningApp;
  let api: CoordinatorApi;
  let otherApi: CoordinatorApi;

  const oneStep = (name: string, participantName: string) => ({
    name,
    type: 'saga',
    defaults: { timeoutMs: 60_000, retry: { maxAttempts: 1 } },
    steps: [{ id: 'only', participant: participantName, action: 'do' }],
  });

  /** A request, with how long its answer took. */
  const timed = async <T = TxView>(target: CoordinatorApi, method: string, path: string, body?: unknown) => {
    const started = Date.now();
    const answer = await target.request<T>(method, path, body);
    return { ...answer, ms: Date.now() - started, at: Date.now() };
  };
  const waiters = async (app: RunningApp) => {
    const text = await (await fetch(`${app.url}/metrics`, { headers: bearer('metrics') })).text();
    return Number(/^ordo_waiters (\d+)$/m.exec(text)?.[1]);
  };
  const untilWaiters = (app: RunningApp, count: number) =>
    waitFor(`${count} waiters on ${app.name}`, async () => ((await waiters(app)) === count ? true : undefined), 30_000);
  /** Statements the coordinators ran in this run's database (BEGIN and COMMIT included), all instances. */
  const statements = async () => {
    const { rows } = await db.query<{ calls: string }>(
      `SELECT coalesce(sum(calls), 0)::text AS calls FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'`,
    );
    return Number(rows[0].calls);
  };
  const statementsPerSecond = async (windowMs: number) => {
    const before = await statements();
    await sleep(windowMs);
    return ((await statements()) - before) / (windowMs / 1000);
  };

  beforeAll(async () => {
    await db.connect();
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await participant.start();
    // Its feed polls only once a second: a waiter it answers sooner was woken by its own commit.
    deciding = await startApp('coordinator', { MAX_IN_FLIGHT_PER_PARTICIPANT: String(2 * WAITERS), WAIT_POLL_MS: '1000' });
    // On topics of its own, the other instance hears no replies and so decides nothing of
    // these transactions: what wakes its waiters can only be the change feed.
    other = await startApp('coordinator', { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}other.`, MAX_WAITERS: '2' });
    api = new CoordinatorApi(deciding.url);
    otherApi = new CoordinatorApi(other.url);
    await api.register(oneStep(flow, participant.name));
    await api.register(oneStep(slowFlow, lazy.name));
  });

  afterAll(async () => {
    await Promise.all([deciding, other].map((app) => app?.stop()));
    await Promise.all([participant, lazy].map((p) => p.stop()));
    await db.end();
  });

  it('describes waitMs and the 202 in the OpenAPI document', async () => {
    type Operation = {
      parameters: { name: string; in: string; schema: Record<string, unknown> }[];
      responses: Record<string, { description: string }>;
    };
    const document = (await (await fetch(`${deciding.url}/api/docs/openapi.json`)).json()) as { paths: Record<string, Record<string, Operation>> };
    const start = document.paths['/api/v1/transactions'].post;
    const read = document.paths['/api/v1/transactions/{id}'].get;
    for (const operation of [start, read]) {
      expect(operation.parameters).toContainEqual(
        expect.objectContaining({ name: 'waitMs', in: 'query', required: false, schema: expect.objectContaining({ type: 'integer', minimum: 0 }) }),
      );
      expect(Object.keys(operation.responses)).toContain('503');
    }
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(['200', '201', '202']));
  });

  it('answers a start with the ended transaction when it ends within waitMs', async () => {
    const answer = await timed(api, 'POST', '/transactions?waitMs=10000', { definition: flow, input: { ms: 300 } });
    expect(answer.status).toBe(201);
    expect(answer.body.status).toBe('completed');
    expect(answer.body.steps[0].status).toBe('succeeded');
    expect(answer.ms).toBeLessThan(5000);
    // The same key again: the idempotent replay, ended at once.
    const key = `k-${suffix}`;
    await api.request('POST', '/transactions?waitMs=10000', { definition: flow, input: { ms: 0 }, idempotencyKey: key });
    const replay = await api.request<TxView>('POST', '/transactions?waitMs=10000', { definition: flow, input: { ms: 0 }, idempotencyKey: key });
    expect([replay.status, replay.body.status]).toEqual([200, 'completed']);
  });

  it('answers 202 with the running transaction when waitMs passes first', async () => {
    const answer = await timed(api, 'POST', '/transactions?waitMs=500', { definition: flow, input: { ms: 3000 } });
    expect(answer.status).toBe(202);
    expect(answer.body.status).toBe('running');
    expect(answer.ms).toBeGreaterThanOrEqual(450);
    expect(answer.ms).toBeLessThan(2500);
  });

  it('long-polls a read until the transaction ends, woken by the commit on the deciding instance', async () => {
    const lateBy: number[] = [];
    for (let i = 0; i < 5; i++) {
      const tx = await api.start(flow, { ms: 300 });
      const answer = await timed(api, 'GET', `/transactions/${tx.id}?waitMs=10000`);
      expect([answer.status, answer.body.status]).toEqual([200, 'completed']);
      lateBy.push(answer.at - Date.parse(answer.body.updatedAt));
    }
    process.stdout.write(`[wait] the deciding instance answered ${lateBy.join(', ')} ms after the ends were committed\n`);
    // Through its feed (a poll a second), five answers within 250 ms would have a chance of 0.25^5.
    expect(Math.max(...lateBy)).toBeLessThan(250);
    const timedOut = await timed(api, 'GET', `/transactions/${(await api.start(flow, { ms: 3000 })).id}?waitMs=400`);
    expect([timedOut.status, timedOut.body.status]).toEqual([200, 'running']);
    expect(timedOut.ms).toBeGreaterThanOrEqual(350);
  });

  it('wakes a waiter on another instance than the deciding one within about a second', async () => {
    const tx = await api.start(flow, { ms: 1100 });
    const answer = await timed(otherApi, 'GET', `/transactions/${tx.id}?waitMs=10000`);
    expect([answer.status, answer.body.status]).toEqual([200, 'completed']);
    const lateBy = answer.at - Date.parse(answer.body.updatedAt);
    process.stdout.write(`[wait] the other instance answered ${lateBy} ms after the end was committed\n`);
    expect(lateBy).toBeLessThan(1500);
  });

  it('refuses a waitMs above WAIT_MAX_MS or malformed with 400, starting nothing', async () => {
    const started = async () => (await api.request<{ total: number }>('GET', `/transactions/counts?definition=${flow}`)).body.total;
    const before = await started();
    const tooLong = await api.request<{ error: { code: string; message: string } }>('POST', '/transactions?waitMs=30001', {
      definition: flow,
      input: {},
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('WAIT_MAX_MS') });
    for (const waitMs of ['30001', '600001', 'soon', '-1', '1.5']) {
      const { status } = await api.request('GET', `/transactions/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}?waitMs=${waitMs}`);
      expect([waitMs, status]).toEqual([waitMs, 400]);
    }
    expect(await started()).toBe(before);
  });

  it('caps the waiters of an instance with 503 and Retry-After, and frees the slot of a client that left', async () => {
    const tx = await api.start(flow, { ms: 4000 });
    const gone = new AbortController();
    const leaving = fetch(`${other.url}/api/v1/transactions/${tx.id}?waitMs=20000`, { headers: bearer('viewer'), signal: gone.signal }).catch(
      () => 'aborted',
    );
    const staying = timed(otherApi, 'GET', `/transactions/${tx.id}?waitMs=20000`);
    await untilWaiters(other, 2);
    const refused = await fetch(`${other.url}/api/v1/transactions/${tx.id}?waitMs=1000`, { headers: bearer('viewer') });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_WAITERS');
    // A start asking to wait is refused before it starts anything.
    const before = (await api.request<{ total: number }>('GET', `/transactions/counts?definition=${flow}`)).body.total;
    expect((await otherApi.request('POST', '/transactions?waitMs=1000', { definition: flow, input: {} })).status).toBe(503);
    expect((await api.request<{ total: number }>('GET', `/transactions/counts?definition=${flow}`)).body.total).toBe(before);
    gone.abort();
    expect(await leaving).toBe('aborted');
    await untilWaiters(other, 1);
    expect(await waiters(other)).toBe(1);
    const answer = await staying;
    expect([answer.status, answer.body.status]).toEqual([200, 'completed']);
    expect(await waiters(other)).toBe(0);
  });

  it(`holds ${WAITERS} waiters without more database statements per second, and answers every one`, async () => {
    let phase = Date.now();
    const lap = () => -(phase - (phase = Date.now()));
    const ids = await startConcurrently(
      api,
      slowFlow,
      Array.from({ length: WAITERS }, () => ({})),
      50,
    );
    const startMs = lap();
    await sleep(1000);
    const idle = await statementsPerSecond(3000);
    lap();
    const answers = ids.map((id) => api.request<TxView>('GET', `/transactions/${id}?waitMs=25000`));
    await untilWaiters(deciding, WAITERS);
    process.stdout.write(`[wait] ${WAITERS} transactions started in ${startMs} ms; ${WAITERS} waiters in place in ${lap()} ms\n`);
    await sleep(500);
    const waiting = await statementsPerSecond(3000);
    process.stdout.write(
      `[wait] statements/s, both instances, ${WAITERS} transactions running: ${idle.toFixed(1)} with no waiter, ` +
        `${waiting.toFixed(1)} with ${WAITERS} waiters (${(waiting / idle).toFixed(2)}x)\n`,
    );
    // A read per waiter per second would add 1000/s; the feed adds one poll per WAIT_POLL_MS (here 1/s).
    expect(waiting).toBeLessThanOrEqual(1.5 * idle + 10);
    const started = Date.now();
    await lazy.start();
    const finals = await Promise.all(answers);
    process.stdout.write(`[wait] every waiter answered ${Date.now() - started} ms after the participant came\n`);
    expect(finals.filter((a) => a.status === 200 && a.body.status === 'completed')).toHaveLength(WAITERS);
    expect(await waiters(deciding)).toBe(0);
  });

  it('answers its waiters at once when the instance shuts down', async () => {
    const tx = await api.start(flow, { ms: 10_000 });
    const waiting = timed(otherApi, 'GET', `/transactions/${tx.id}?waitMs=20000`);
    await untilWaiters(other, 1);
    const stopping = Date.now();
    const stopped = other.stop();
    const answer = await waiting;
    // When the answer came, not when the process was gone: its whole shutdown may take longer on a loaded machine.
    const answeredMs = Date.now() - stopping;
    await stopped;
    expect([answer.status, answer.body.status]).toEqual([200, 'running']);
    expect(answeredMs).toBeLessThan(5000);
  });
});
