import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { insertFinishedTransactions } from '../../tools/bench/finished-transactions';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { startConcurrently } from '../support/load';
import { startApp } from '../support/processes';
import { testEnv } from '../support/test-env';
import { TestParticipant } from '../support/test-participant';

const OLD = 20_000;
const BATCH = 1000;
const SAGAS = 100;
const HOUR = 3_600_000;

/**
 * The small version of `npm run bench:retention`: 20,000 finished transactions older than
 * RETENTION_MAX_AGE are purged in batches while sagas run; running, failed and recent ones
 * stay, what operators did moves to the audit log, and the sagas all finish.
 */
describe('retention', () => {
  const suffix = randomBytes(3).toString('hex');
  // Commands handled as they come, like a service's worker pool: the purge loads the machine,
  // and one at a time a queue of them could outlast the steps' timeouts.
  const participant = new TestParticipant({ name: `ret-${suffix}`, parallel: true });
  const steps = [
    { id: 'reserve', participant: participant.name, action: 'reserve', compensation: 'release' },
    { id: 'charge', participant: participant.name, action: 'charge', compensation: 'refund', dependsOn: ['reserve'] },
  ];
  // Timeouts are not under test here: long enough that a loaded machine does not retry.
  const live = { name: `retention-live-${suffix}`, type: 'saga', defaults: { timeoutMs: 30_000 }, steps };
  const stored = { name: `retention-stored-${suffix}`, type: 'saga', steps };
  const db = new Client({ connectionString: testEnv().databaseUrl });

  beforeAll(async () => {
    await participant.start();
    await db.connect();
    await db.query('SET search_path = ordo');
  });

  afterAll(async () => {
    await db.end();
    await participant.stop();
  });

  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].count);
  const ofSeed = (seed: string, n: number) => `(SELECT md5('${seed}' || g)::uuid FROM generate_series(1, ${n}) g)`;

  it('purges old finished transactions in batches and keeps running, failed and recent ones', async () => {
    // The rows below are seeded in several commits: the purge lock, held here as if another
    // instance were purging, keeps the job from starting on a half-seeded table.
    const purgeLock = `hashtext('ordo-retention:' || current_schema())`;
    await db.query(`SELECT pg_advisory_lock(${purgeLock})`);
    const coordinator = await startApp('coordinator', {
      RETENTION_MAX_AGE: '1h',
      RETENTION_BATCH_SIZE: String(BATCH),
      RETENTION_PAUSE_MS: '200',
      RETENTION_INTERVAL_MS: '500',
    });
    const api = new CoordinatorApi(coordinator.url);
    await api.register(live);
    await api.register(stored);

    const insert = (seed: string, n: number, finishedAgoMs: number, status?: 'running' | 'failed') =>
      insertFinishedTransactions(testEnv().databaseUrl, {
        schema: 'ordo',
        definition: { name: stored.name, version: 1, steps },
        count: n,
        eventsPerTransaction: 6,
        finishedAgoMs,
        seed: `${seed}-${suffix}`,
        status,
      });
    // Kept: younger than the age, or not finished however old.
    await insert('recent', 500, HOUR / 2);
    await insert('running', 50, 2 * HOUR, 'running');
    await insert('failed', 50, 2 * HOUR, 'failed');
    await insert('old', OLD, 2 * HOUR);
    // What operators did to ten of the old ones outlives them.
    const AUDITED = 10;
    await db.query(
      `INSERT INTO events (tx_id, type, step_id, actor, data, at)
       SELECT id, 'operator.retried', NULL, 'ops-alice', jsonb_build_object('type', 'operator.retried', 'actor', 'ops-alice', 'stepIds', jsonb_build_array('charge')), now() - interval '3 hours'
       FROM ${ofSeed(`old-${suffix}`, AUDITED)} AS t (id)`,
    );

    // Alerts about old and running ones (stuck while they ran): the old ones' go with them.
    const ALERTED = 10;
    for (const seed of ['old', 'running']) {
      await db.query(
        `INSERT INTO alerts (kind, tx_id, definition_name, data, dedupe_key, fanned_out)
         SELECT 'stuck', id, $1, '{}', 'stuck:' || id, true FROM ${ofSeed(`${seed}-${suffix}`, ALERTED)} AS t (id)`,
        [stored.name],
      );
    }

    // Alerts about no transaction go once old and fanned out, with the summaries of folded deliveries.
    const webhook = `md5('${suffix}-webhook')::uuid`;
    await db.query(
      `INSERT INTO alert_webhooks (id, url, secret, kinds, per_minute, created_by) VALUES (${webhook}, 'http://127.0.0.1:9/', 's', '{no-such-kind}', 1, 'ops-alice')`,
    );
    const unattached = (
      await db.query<{ id: string }>(
        `INSERT INTO alerts (kind, participant, data, dedupe_key, fanned_out, at)
         VALUES ('circuit_open', 'p-${suffix}', '{}', 'old-${suffix}', true, now() - interval '2 hours'),
                ('circuit_open', 'p-${suffix}', '{}', 'recent-${suffix}', true, now() - interval '10 minutes')
         RETURNING id::text`,
      )
    ).rows.map((r) => r.id);
    const summaries = (
      await db.query<{ id: string }>(
        `INSERT INTO alert_deliveries (webhook_id, state, finished_at)
         VALUES (${webhook}, 'sent', now() - interval '2 hours'), (${webhook}, 'sent', now() - interval '10 minutes')
         RETURNING id::text`,
      )
    ).rows.map((r) => r.id);

    // Bulk actions that ended long ago go; a recent one stays.
    const runs = [`${suffix}-old`, `${suffix}-recent`].map((seed) => `md5('${seed}')::uuid`);
    await db.query(
      `INSERT INTO bulk_actions (id, action, params, filter, max_count, actor, status, matched, finished_at)
       VALUES (${runs[0]}, 'pause', '{}', '{}', 1, 'ops-alice', 'done', 0, now() - interval '2 hours'),
              (${runs[1]}, 'pause', '{}', '{}', 1, 'ops-alice', 'done', 0, now() - interval '10 minutes')`,
    );

    const oldLeft = () => count(`SELECT count(*) FROM transactions WHERE id IN ${ofSeed(`old-${suffix}`, OLD)}`);
    // Sagas run while the purge does; the old rows left are sampled meanwhile.
    expect(await oldLeft()).toBe(OLD);
    await db.query(`SELECT pg_advisory_unlock(${purgeLock})`);
    const seen = new Set<number>();
    const sagas = (async () => {
      const ids = await startConcurrently(
        api,
        live.name,
        Array.from({ length: SAGAS }, (_, n) => ({ n })),
        10,
      );
      return Promise.all(ids.map((id) => api.waitFor(id, TERMINAL, 60_000)));
    })();
    for (const until = Date.now() + 60_000; Date.now() < until;) {
      const left = await oldLeft();
      seen.add(left);
      if (left === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const finals = await sagas;

    expect(await oldLeft()).toBe(0);
    // One batch per database transaction: only whole batches are ever seen gone, and the
    // purge went through several of them.
    expect([...seen].every((left) => left % BATCH === 0)).toBe(true);
    expect([...seen].filter((left) => left > 0 && left < OLD).length).toBeGreaterThanOrEqual(3);
    // Their history went with them, but for what operators did, now in the audit log.
    expect(await count(`SELECT count(*) FROM events WHERE tx_id IN ${ofSeed(`old-${suffix}`, OLD)}`)).toBe(0);
    const { rows: audit } = await db.query(`SELECT definition_name, type, actor FROM audit_log WHERE tx_id IN ${ofSeed(`old-${suffix}`, OLD)}`);
    expect(await count(`SELECT count(*) FROM alerts WHERE tx_id IN ${ofSeed(`old-${suffix}`, OLD)}`)).toBe(0);
    // (The stuck scan may have alerted about the other running ones meanwhile: they are two hours without progress.)
    expect(await count(`SELECT count(*) FROM alerts WHERE tx_id IN ${ofSeed(`running-${suffix}`, 50)}`)).toBeGreaterThanOrEqual(ALERTED);
    expect(audit).toEqual(Array(AUDITED).fill({ definition_name: stored.name, type: 'operator.retried', actor: 'ops-alice' }));
    const left = async (table: string, ids: string[]) =>
      (await db.query<{ id: string }>(`SELECT id::text FROM ${table} WHERE id = ANY($1::bigint[]) ORDER BY id`, [ids])).rows.map((r) => r.id);
    expect(await left('alerts', unattached)).toEqual(unattached.slice(1));
    expect(await left('alert_deliveries', summaries)).toEqual(summaries.slice(1));
    await db.query(`DELETE FROM alert_webhooks WHERE id = ${webhook}`);
    expect([
      await count(`SELECT count(*) FROM bulk_actions WHERE id = ${runs[0]}`),
      await count(`SELECT count(*) FROM bulk_actions WHERE id = ${runs[1]}`),
    ]).toEqual([0, 1]);

    for (const [seed, n] of [
      ['recent', 500],
      ['running', 50],
      ['failed', 50],
    ] as const) {
      expect(await count(`SELECT count(*) FROM transactions WHERE id IN ${ofSeed(`${seed}-${suffix}`, n)}`)).toBe(n);
      expect(await count(`SELECT count(*) FROM events WHERE tx_id IN ${ofSeed(`${seed}-${suffix}`, n)}`)).toBe(n * 6);
    }
    expect(finals.map((tx) => tx.status)).toEqual(Array(SAGAS).fill('completed'));
    expect(await count('SELECT count(*) FROM transactions WHERE definition_name = $1', [live.name])).toBe(SAGAS);
  });
});
