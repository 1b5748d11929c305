import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { waitFor } from '../../tools/infra/proc';
import { testActor } from '../support/auth';
import { CoordinatorApi, TxView } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

interface Run {
  id: string;
  status: string;
  matched: number;
  processed: number;
  applied: number;
}

/**
 * Bulk actions through the REST API of a real coordinator: a dry run counts, a run goes
 * through the matching transactions in batches and tells its progress, each transaction's
 * history names the operator, and the run's start is audited. No participant consumes the
 * commands: the steps wait.
 */
describe('bulk actions', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const schema = 'ordo_bulk_actions';
  const db = new Client({ connectionString: env.databaseUrl });
  let coordinator: RunningApp;
  const as = (role: 'operator' | 'viewer' | 'admin') => new CoordinatorApi(coordinator.url, role);
  const tag = `batch:${suffix}`;
  const ids: string[] = [];

  const finished = (id: string, timeoutMs = 30_000) =>
    waitFor(
      `bulk action ${id} done`,
      async () => {
        const { body } = await as('viewer').request<Run>('GET', `/bulk-actions/${id}`);
        return body.status === 'done' ? body : undefined;
      },
      timeoutMs,
    );

  beforeAll(async () => {
    await db.connect();
    coordinator = await startApp('coordinator', { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}bulk.`, DATABASE_SCHEMA: schema });
    await as('admin').register({
      name: `bulk-${suffix}`,
      type: 'saga',
      defaults: { timeoutMs: 60_000 },
      steps: [
        { id: 'a', participant: `nobody-${suffix}`, action: 'do-a', compensation: 'undo-a' },
        { id: 'b', participant: `nobody-${suffix}`, action: 'do-b', compensation: 'undo-b', dependsOn: ['a'] },
      ],
    });
    for (let i = 0; i < 5; i++) {
      const { body } = await as('operator').request<TxView>('POST', '/transactions', {
        definition: `bulk-${suffix}`,
        input: {},
        tags: { batch: suffix },
      });
      ids.push(body.id);
    }
  });

  afterAll(() => db.end());

  it('counts first, then pauses every match in batches, recording who did it', async () => {
    expect((await as('viewer').request('POST', '/bulk-actions', { action: 'pause', tag: [tag], dryRun: true })).status).toBe(403);
    const dry = await as('operator').request('POST', '/bulk-actions', { action: 'pause', tag: [tag], dryRun: true });
    expect(dry).toEqual({ status: 200, body: { matched: 5 } });
    expect((await as('operator').request('POST', '/bulk-actions', { action: 'pause', tag: [tag], dryRun: true, limit: 3 })).body).toEqual({
      matched: 3,
    });

    const started = await as('operator').request<Run>('POST', '/bulk-actions', { action: 'pause', tag: [tag], note: 'partner outage' });
    expect(started).toMatchObject({ status: 202, body: { status: 'running', matched: 5 } });
    expect(await finished(started.body.id)).toMatchObject({ processed: 5, applied: 5 });
    for (const id of ids) {
      const paused = (await as('viewer').events(id)).find((e) => e.type === 'operator.paused');
      expect(paused).toMatchObject({ actor: testActor('operator'), data: { note: 'partner outage' } });
    }
    const { rows } = await db.query(
      `SELECT actor, data FROM ${schema}.audit_log WHERE type = 'operator.bulk_started' AND data ->> 'bulkActionId' = $1`,
      [started.body.id],
    );
    expect(rows).toEqual([{ actor: testActor('operator'), data: expect.objectContaining({ action: 'pause', matched: 5 }) }]);
    const listed = await as('viewer').request<{ items: Run[] }>('GET', '/bulk-actions');
    expect(listed.body.items.map((r) => r.id)).toContain(started.body.id);
  });

  it('is finished by another instance when the one it started on dies', async () => {
    const other = await startApp('coordinator', { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}bulk.`, DATABASE_SCHEMA: schema });
    const started = await new CoordinatorApi(other.url, 'operator').request<Run>('POST', '/bulk-actions', {
      action: 'set_attempts',
      stepId: 'b',
      attemptsLeft: 0,
      tag: [tag],
    });
    other.process.kill('SIGKILL');
    await other.stop();
    // Whether or not it had taken the run (then its lease must run out first), this instance finishes it.
    expect(await finished(started.body.id, 60_000)).toMatchObject({ matched: 5, processed: 5 });
  }, 90_000);

  it('acts on a step of each, within its limit, and refuses an action without what it needs', async () => {
    const incomplete = await as('operator').request<{ error: { code: string; details: { path: string }[] } }>('POST', '/bulk-actions', {
      action: 'skip',
      tag: [tag],
    });
    expect([incomplete.status, incomplete.body.error.details.map((d) => d.path)]).toEqual([400, ['stepId', 'note']]);

    const skipped = await as('operator').request<Run>('POST', '/bulk-actions', {
      action: 'skip',
      stepId: 'a',
      output: { v: 1 },
      note: 'done by hand',
      tag: [tag],
      limit: 3,
    });
    expect(await finished(skipped.body.id)).toMatchObject({ matched: 3, processed: 3, applied: 3 });
    const steps = await Promise.all(ids.map(async (id) => (await as('viewer').get(id)).steps.find((s) => s.id === 'a')!.status));
    expect(steps).toEqual(['succeeded', 'succeeded', 'succeeded', 'running', 'running']);

    // Only the paused ones are resumed; a step action goes through every match, applied where it may be.
    const resumed = await as('operator').request<Run>('POST', '/bulk-actions', { action: 'resume', tag: [tag] });
    expect(await finished(resumed.body.id)).toMatchObject({ matched: 5, applied: 5 });
    const failed = await as('operator').request<Run>('POST', '/bulk-actions', { action: 'fail_step', stepId: 'a', note: 'partner gone', tag: [tag] });
    expect(await finished(failed.body.id)).toMatchObject({ processed: 5, applied: 2 });
  });
});
