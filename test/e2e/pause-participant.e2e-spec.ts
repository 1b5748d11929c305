import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { sleep } from '../../tools/infra/proc';
import { REPO_ROOT } from '../../tools/infra/paths';
import { addAccounts, addProducts, stockNotConserved } from '../../tools/chaos/invariants';
import { CoordinatorApi, TxView } from '../support/coordinator-api';
import { startConcurrently, waitAllTerminal } from '../support/load';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

const SAGAS = 50;
/** Longer than the sagas' deadline and their steps' timeouts: none may pass while paused. */
const PAUSED_MS = 8_000;

/**
 * A paused participant during its maintenance, end to end: the real order, inventory and
 * payment services, real PostgreSQL and Kafka. Inventory is paused, 50 place-order sagas
 * start; none sends it a command and none times out, though they wait longer than their
 * deadline; inventory is resumed, and all 50 complete.
 */
describe('a paused participant', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}pause-participant.`, KAFKA_TOPIC_PARTITIONS: '4' };
  // The sample saga, with a deadline (5 s) and step timeouts (2 s) the pause outlasts.
  const saga = {
    ...JSON.parse(readFileSync(join(REPO_ROOT, 'apps/order/place-order.saga.json'), 'utf8')),
    name: `place-order-${suffix}`,
    timeoutMs: 5_000,
  };
  saga.defaults = { ...saga.defaults, timeoutMs: 2_000 };
  const product = { sku: `PP-${suffix}`, stock: SAGAS };
  const account = { id: `pp-${suffix}`, balance: 100_000 };
  const db = new Client({ connectionString: env.databaseUrl });
  let api: CoordinatorApi;
  let inventory: RunningApp;

  beforeAll(async () => {
    await db.connect();
    const coordinator = await startApp('coordinator', { ...world, DATABASE_SCHEMA: 'ordo_pause_participant' });
    api = new CoordinatorApi(coordinator.url, 'operator');
    [, inventory] = await Promise.all((['order', 'inventory', 'payment'] as const).map((name) => startApp(name, world)));
    await new CoordinatorApi(coordinator.url, 'admin').register(saga);
    await addProducts(db, [product]);
    await addAccounts(db, [account]);
  });

  afterAll(() => db.end());

  it('holds every command to it, lets nothing time out, and completes every saga once it is resumed', async () => {
    expect((await api.request('POST', '/participants/inventory/pause', { note: 'maintenance' })).status).toBe(200);
    const input = { customer: 'ada', sku: product.sku, qty: 1, accountId: account.id, amount: 10 };
    const ids = await startConcurrently(api, saga.name, Array(SAGAS).fill(input), 10);

    // Each creates its order, then waits for inventory, paused.
    const waiting = async () => (await Promise.all(ids.map((id) => api.get(id)))) as (TxView & { paused: { participants: string[] } | null })[];
    const until = Date.now() + 30_000;
    while (!(await waiting()).every((tx) => tx.paused?.participants.includes('inventory'))) {
      if (Date.now() > until) throw new Error('the sagas did not all pause for inventory');
      await sleep(200);
    }
    await sleep(PAUSED_MS);

    const during = await waiting();
    expect(during.map((tx) => tx.status)).toEqual(Array(SAGAS).fill('running'));
    const reserve = during.map((tx) => tx.steps.find((s) => s.id === 'reserve-stock')!);
    expect(reserve.every((step) => step.attempt === 0)).toBe(true);
    const histories = await Promise.all(ids.map((id) => api.events(id)));
    for (const events of histories) {
      expect(events.filter((e) => e.stepId === 'reserve-stock' && e.type === 'step.dispatched')).toEqual([]);
      expect(events.filter((e) => e.type === 'step.timed_out' || e.type === 'transaction.status_changed')).toEqual([]);
    }
    const { rows } = await db.query('SELECT count(*)::int AS n FROM inventory.reservations WHERE sku = $1', [product.sku]);
    expect(rows[0].n).toBe(0);
    expect((await (await fetch(`${inventory.url}/api/v1/products/${product.sku}`)).json()) as object).toMatchObject({ stock: SAGAS });

    const resumed = await api.request('POST', '/participants/inventory/resume', {});
    expect(resumed.body).toEqual({ participant: 'inventory', resumed: SAGAS });
    const finals = await waitAllTerminal(api, saga.name, SAGAS, 120_000);
    expect(finals.map((tx) => tx.status)).toEqual(Array(SAGAS).fill('completed'));
    // One reservation each, and the stock taken for it.
    expect(await stockNotConserved(db, [product])).toEqual([]);
    expect((await (await fetch(`${inventory.url}/api/v1/products/${product.sku}`)).json()) as object).toMatchObject({ stock: 0 });
  });
});
