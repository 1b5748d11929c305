import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { REPO_ROOT } from '../../tools/infra/paths';
import {
  Account,
  addAccounts as addAccountRows,
  addProducts as addProductRows,
  moneyNotConserved,
  ordersInconsistent,
  Product,
  stockNotConserved,
} from '../../tools/chaos/invariants';
import { CoordinatorApi, TERMINAL, TxView } from '../support/coordinator-api';
import { seeded, startConcurrently, waitAllTerminal } from '../support/load';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * The sample e-commerce saga end to end: the coordinator and the real order, inventory and
 * payment services as processes, over real PostgreSQL and Kafka, running the committed
 * place-order definition. Effects are checked in the services' own tables.
 *
 * This file runs in a world of its own: its topic prefix and coordinator schema are its
 * own (so no other file's processes consume its commands or drive its transactions); the
 * participants' schemas are the run's, so it uses products and accounts of its own.
 */
describe('place-order saga', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  // Failure injection on: a test runs the participants with FAULT_TRANSIENT_RATE.
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}place-order.`, KAFKA_TOPIC_PARTITIONS: '8', FAULT_INJECTION: 'on' };
  const saga: { name: string; defaults: { retry: object } } = JSON.parse(readFileSync(join(REPO_ROOT, 'apps/order/place-order.saga.json'), 'utf8'));
  const db = new Client({ connectionString: env.databaseUrl });
  let coordinator: RunningApp;
  let api: CoordinatorApi;
  let participants: Record<'order' | 'inventory' | 'payment', RunningApp>;

  const startParticipants = async (extra: Record<string, string> = {}) => {
    const [order, inventory, payment] = await Promise.all(
      (['order', 'inventory', 'payment'] as const).map((name) => startApp(name, { ...world, ...extra })),
    );
    participants = { order, inventory, payment };
  };

  const sku = (name: string) => `PO-${suffix}-${name}`;
  const account = (name: string) => `po-${suffix}-${name}`;
  const addProducts = (products: Product[]) => addProductRows(db, products);
  const addAccounts = (accounts: Account[]) => addAccountRows(db, accounts);
  const get = async <T>(app: RunningApp, path: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${app.url}/api/v1${path}`);
    return { status: response.status, body: (await response.json()) as T };
  };
  const orderIdOf = (tx: TxView) => String(tx.steps.find((s) => s.id === 'create-order')!.output!.orderId);
  const stepError = (tx: TxView, stepId: string) => tx.steps.find((s) => s.id === stepId)!.lastError?.code;

  beforeAll(async () => {
    await db.connect();
    coordinator = await startApp('coordinator', { ...world, DATABASE_SCHEMA: 'ordo_place_order' });
    api = new CoordinatorApi(coordinator.url);
    await startParticipants();
    // The coordinator's schema is this file's own, so the definition keeps its name.
    await api.register(saga);
    await addProducts([
      { sku: sku('beans'), stock: 10 },
      { sku: sku('kettle'), stock: 1 },
    ]);
    await addAccounts([
      { id: account('ada'), balance: 100_000 },
      { id: account('eve'), balance: 100 },
    ]);
  });

  afterAll(async () => {
    await db.end();
  });

  it('confirms an order when stock and funds suffice', async () => {
    const input = { customer: 'ada', sku: sku('beans'), qty: 2, accountId: account('ada'), amount: 3998 };
    const tx = await api.waitFor((await api.start(saga.name, input)).id, TERMINAL);
    expect(tx.status).toBe('completed');
    const orderId = orderIdOf(tx);

    const order = await get<Record<string, unknown>>(participants.order, `/orders/${orderId}`);
    expect(order.body).toMatchObject({ id: orderId, txId: tx.id, status: 'confirmed', sku: sku('beans'), qty: 2, amount: 3998 });
    expect((await get(participants.inventory, `/products/${sku('beans')}`)).body).toMatchObject({ stock: 8 });
    expect((await get(participants.inventory, `/reservations?orderId=${orderId}`)).body).toMatchObject({
      items: [{ orderId, sku: sku('beans'), qty: 2, status: 'active', txId: tx.id, stepId: 'reserve-stock' }],
    });
    expect((await get(participants.payment, `/accounts/${account('ada')}`)).body).toMatchObject({ balance: 100_000 - 3998 });
    expect((await get(participants.payment, `/charges?orderId=${orderId}`)).body).toMatchObject({
      items: [{ orderId, accountId: account('ada'), amount: 3998, status: 'charged' }],
    });
    const listed = await get<{ items: { id: string }[] }>(participants.order, '/orders?status=confirmed&limit=500');
    expect(listed.body.items.map((o) => o.id)).toContain(orderId);
  });

  it('cancels an order that is out of stock, refunding a charge it made', async () => {
    const input = { customer: 'ada', sku: sku('kettle'), qty: 3, accountId: account('ada'), amount: 100 };
    const balance = (await get<{ balance: number }>(participants.payment, `/accounts/${account('ada')}`)).body.balance;
    const tx = await api.waitFor((await api.start(saga.name, input)).id, TERMINAL);
    expect(tx.status).toBe('compensated');
    expect(stepError(tx, 'reserve-stock')).toBe('OUT_OF_STOCK');
    const orderId = orderIdOf(tx);

    expect((await get(participants.order, `/orders/${orderId}`)).body).toMatchObject({ status: 'cancelled' });
    expect((await get(participants.inventory, `/products/${sku('kettle')}`)).body).toMatchObject({ stock: 1 });
    expect((await get(participants.inventory, `/reservations?orderId=${orderId}`)).body).toEqual({ items: [] });
    // charge ran in parallel with the reservation: it was refunded, or refused by the barrier.
    const charges = (await get<{ items: { status: string }[] }>(participants.payment, `/charges?orderId=${orderId}`)).body.items;
    expect(charges.every((c) => c.status === 'refunded')).toBe(true);
    expect((await get(participants.payment, `/accounts/${account('ada')}`)).body).toMatchObject({ balance });
  });

  it('cancels an order the customer cannot pay, putting the stock back', async () => {
    const input = { customer: 'eve', sku: sku('beans'), qty: 1, accountId: account('eve'), amount: 1999 };
    const stock = (await get<{ stock: number }>(participants.inventory, `/products/${sku('beans')}`)).body.stock;
    const tx = await api.waitFor((await api.start(saga.name, input)).id, TERMINAL);
    expect(tx.status).toBe('compensated');
    expect(stepError(tx, 'charge')).toBe('INSUFFICIENT_FUNDS');
    const orderId = orderIdOf(tx);

    expect((await get(participants.order, `/orders/${orderId}`)).body).toMatchObject({ status: 'cancelled' });
    expect((await get(participants.inventory, `/products/${sku('beans')}`)).body).toMatchObject({ stock });
    const reservations = (await get<{ items: { status: string }[] }>(participants.inventory, `/reservations?orderId=${orderId}`)).body.items;
    expect(reservations.every((r) => r.status === 'released')).toBe(true);
    expect((await get(participants.payment, `/accounts/${account('eve')}`)).body).toMatchObject({ balance: 100 });
    expect((await get(participants.payment, `/charges?orderId=${orderId}`)).body).toEqual({ items: [] });
  });

  it('answers bad queries with 400 and unknown ids with 404, in the one error shape', async () => {
    const refused = async (app: RunningApp, path: string) => {
      const { status, body } = await get<{ error: { code: string } }>(app, path);
      return [status, body.error.code];
    };
    expect(await refused(participants.order, '/orders?limit=0')).toEqual([400, 'VALIDATION_FAILED']);
    expect(await refused(participants.order, '/orders?status=shipped')).toEqual([400, 'VALIDATION_FAILED']);
    expect(await refused(participants.order, '/orders/not-a-uuid')).toEqual([400, 'BAD_REQUEST']);
    expect(await refused(participants.order, '/orders/00000000-0000-4000-8000-000000000000')).toEqual([404, 'ORDER_NOT_FOUND']);
    expect(await refused(participants.inventory, '/products/NO-SUCH-SKU')).toEqual([404, 'PRODUCT_NOT_FOUND']);
    expect(await refused(participants.inventory, '/reservations?orderId=42')).toEqual([400, 'VALIDATION_FAILED']);
    expect(await refused(participants.payment, '/accounts/no-such-account')).toEqual([404, 'ACCOUNT_NOT_FOUND']);
    expect(await refused(participants.payment, '/charges?limit=many')).toEqual([400, 'VALIDATION_FAILED']);
  });

  describe('under load with transient faults', () => {
    const ORDERS = 300;
    const CONCURRENCY = 20;
    const TRANSIENT_RATE = 0.2;
    // Stocks and balances are short on purpose, so orders are refused for both reasons.
    const products = [200, 120, 80, 50, 20, 5].map((stock, i) => ({ sku: sku(`load-${i}`), stock, price: 500 + 400 * i }));
    const accounts = [120_000, 90_000, 70_000, 50_000, 40_000, 30_000, 20_000, 10_000, 5_000, 1_000].map((balance, i) => ({
      id: account(`load-${i}`),
      balance,
    }));

    beforeAll(async () => {
      // Every participant now answers a fifth of all deliveries `retry` before any work.
      await Promise.all(Object.values(participants).map((p) => p.stop()));
      await startParticipants({ FAULT_TRANSIENT_RATE: String(TRANSIENT_RATE) });
      await addProducts(products);
      await addAccounts(accounts);
    });

    it(`ends ${ORDERS} concurrent orders confirmed or cancelled, with stock and money conserved`, async () => {
      // At a 20% fault rate a phase exhausts 5 attempts with p = 0.2^5 = 3e-4; over the
      // ~700 phases that must succeed (compensations, the pivot) some transaction would
      // end `failed` in one run out of a few. 10 attempts make that p = 1e-7.
      const name = `${saga.name}-load`;
      await api.register({ ...saga, name, defaults: { ...saga.defaults, retry: { ...saga.defaults.retry, maxAttempts: 10 } } });
      const random = seeded(7);
      const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
      const inputs = Array.from({ length: ORDERS }, (_, n) => {
        const [product, payer, qty] = [pick(products), pick(accounts), pick([1, 2, 3])];
        return { customer: `c${n}`, sku: product.sku, qty, accountId: payer.id, amount: qty * product.price };
      });

      const started = Date.now();
      const ids = await startConcurrently(api, name, inputs, CONCURRENCY);
      const finals = await waitAllTerminal(api, name, ORDERS);
      const seconds = (Date.now() - started) / 1000;

      expect(new Set(ids).size).toBe(ORDERS);
      expect(finals.filter((tx) => tx.status !== 'completed' && tx.status !== 'compensated')).toEqual([]);
      const completed = new Set(finals.filter((tx) => tx.status === 'completed').map((tx) => tx.id));

      // Every order ends confirmed (its transaction completed) or cancelled; a confirmed
      // one holds an active reservation and a charge, a cancelled one neither.
      expect(await ordersInconsistent(db, ids, completed)).toEqual([]);
      // Nothing created or lost: per product, stock + active reservations = the initial
      // stock; per account, balance + charges not refunded = the initial balance.
      expect(await stockNotConserved(db, products)).toEqual([]);
      expect(await moneyNotConserved(db, accounts)).toEqual([]);

      // The mix refuses some orders and serves others.
      const confirmed = completed.size;
      expect(confirmed).toBeGreaterThan(0);
      expect(confirmed).toBeLessThan(ORDERS);

      const traffic = await measureTraffic(api, db, ids);
      expect(traffic.replies.retry ?? 0).toBeGreaterThan(0);
      process.stdout.write(
        `[place-order] ${ORDERS} orders in ${seconds.toFixed(1)} s (${(ORDERS / seconds).toFixed(1)} orders/s); ` +
          `commands delivered ${traffic.delivered}, applied ${traffic.applied}, barrier duplicates ${traffic.duplicates}\n` +
          `[place-order] ${confirmed} confirmed, ${ORDERS - confirmed} cancelled; ${traffic.dispatched} commands dispatched; ` +
          `replies ${JSON.stringify(traffic.replies)}; barrier rows ${JSON.stringify(traffic.barrierRows)}; ` +
          `attempts timed out ${JSON.stringify(traffic.timeouts)}\n`,
      );
    }, 300_000);
  });
});

/**
 * What the participants did, seen from both ends:
 * - dispatched: commands the coordinator sent (`step.dispatched` events), retries included;
 * - delivered: deliveries the participants answered, i.e. replies the coordinator received
 *   (`step.replied` + `step.reply_ignored`): a delivery is answered exactly once, and
 *   Kafka may deliver a command more than once;
 * - applied: commands that got a final answer in a participant's local transaction, i.e.
 *   barrier rows written by a handler or a null compensation (fences excluded), at most
 *   one per (transaction, step, phase) by the barrier's primary key;
 * - barrier duplicates: deliveries with a final answer beyond the applied one, i.e. answered
 *   from a stored barrier row without running the business code. Deliveries answered
 *   `retry` (here: the injected faults) changed nothing and stored nothing.
 * Replies still in flight when this runs are not counted.
 */
async function measureTraffic(api: CoordinatorApi, db: Client, ids: string[]) {
  const replies: Record<string, number> = {};
  const timeouts: Record<string, number> = {};
  let dispatched = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < ids.length) {
        for (const event of await api.events(ids[next++])) {
          if (event.type === 'step.dispatched') dispatched++;
          if (event.type === 'step.timed_out') timeouts[event.stepId!] = (timeouts[event.stepId!] ?? 0) + 1;
          if (event.type === 'step.replied' || event.type === 'step.reply_ignored') {
            const outcome = String(event.data.outcome);
            replies[outcome] = (replies[outcome] ?? 0) + 1;
          }
        }
      }
    }),
  );
  const rows = await db.query<{ origin: string; count: number }>(
    `SELECT origin, count(*)::int AS count FROM (
       SELECT origin FROM orders.ordo_barrier WHERE tx_id = ANY($1)
       UNION ALL SELECT origin FROM inventory.ordo_barrier WHERE tx_id = ANY($1)
       UNION ALL SELECT origin FROM payment.ordo_barrier WHERE tx_id = ANY($1)) rows
     GROUP BY origin`,
    [ids],
  );
  const barrierRows: Record<string, number> = Object.fromEntries(rows.rows.map((r) => [r.origin, r.count]));
  const delivered = Object.values(replies).reduce((a, b) => a + b, 0);
  const applied = (barrierRows.handler ?? 0) + (barrierRows.null_compensation ?? 0);
  const final = delivered - (replies.retry ?? 0);
  return { dispatched, delivered, applied, duplicates: final - applied, replies, barrierRows, timeouts };
}
