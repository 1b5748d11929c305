import { randomBytes, randomUUID } from 'crypto';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { REPO_ROOT } from '../../tools/infra/paths';
import { sleep, waitFor } from '../../tools/infra/proc';
import { addAccounts, addProducts } from '../../tools/chaos/invariants';
import { TEST_KEYS, testActor } from '../support/auth';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

interface OrderBody {
  id: string;
  txId: string | null;
  status: string;
}

interface StartRow {
  id: string;
  traceparent: string | null;
  status: 'pending' | 'delivered' | 'rejected';
  tx_id: string | null;
  attempts: number;
  last_error: { status?: number; code: string; message: string } | null;
}

/**
 * Starting a saga atomically from the service's own transaction (the SDK's OrdoStarts):
 * POST /api/v1/orders on the real order service writes the order and the start of its
 * place-order saga in one local transaction, and the SDK delivers the start to the real
 * coordinator. Checked in the services' own tables and the coordinator's: a committed start
 * runs exactly one saga, even when the service is SIGKILLed between its commit and the
 * delivery, or delivers it twice; a rolled-back one runs none.
 *
 * A world of its own: its topic prefix, the coordinator's schema and the order service's
 * schema (whose outbox no other file's order service may sweep) are this file's.
 */
describe('atomic start (OrdoStarts)', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const coordinatorSchema = 'ordo_atomic_start';
  const orderSchema = 'orders_atomic_start';
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}atomic-start.`, FAULT_INJECTION: 'on' };
  const saga = JSON.parse(readFileSync(join(REPO_ROOT, 'apps/order/place-order.saga.json'), 'utf8'));
  const [sku, account] = [`AS-${suffix}`, `as-${suffix}`];
  const items = { customer: 'ada', sku, qty: 1, accountId: account, amount: 500 };
  const db = new Pool({ connectionString: env.databaseUrl });
  let coordinator: RunningApp;
  let api: CoordinatorApi;
  let order: RunningApp;

  const startOrder = (extra: Record<string, string> = {}) =>
    startApp('order', {
      ...world,
      DATABASE_SCHEMA: orderSchema,
      ORDO_COORDINATOR_URL: coordinator.url,
      ORDO_COORDINATOR_API_KEY: TEST_KEYS.starter,
      STARTS_SWEEP_INTERVAL_MS: '300',
      // Traced, so a start carries the trace of the request that wrote it.
      ORDO_TRACING: 'file',
      ORDO_TRACING_FILE: join(mkdtempSync(join(tmpdir(), 'ordo-atomic-start-')), 'spans.jsonl'),
      ...extra,
    });

  const placeOrder = async (body: object = items, idempotencyKey?: string) => {
    const response = await fetch(`${order.url}/api/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as OrderBody & { error?: { code: string } } };
  };

  const orderRow = async (id: string) =>
    (await db.query<{ status: string; tx_id: string | null }>(`SELECT status, tx_id FROM ${orderSchema}.orders WHERE id = $1`, [id])).rows[0];

  const startOf = async (orderId: string): Promise<StartRow | undefined> =>
    (await db.query<StartRow>(`SELECT * FROM ${orderSchema}.ordo_starts WHERE idempotency_key = $1`, [`place-order:${orderId}`])).rows[0];

  /** The coordinator's transactions of an order, however they were started. */
  const transactionsOf = async (orderId: string) =>
    (
      await db.query<{ id: string; status: string; started_by: string }>(
        `SELECT id, status, started_by FROM ${coordinatorSchema}.transactions WHERE input->>'orderId' = $1`,
        [orderId],
      )
    ).rows;

  const delivered = (orderId: string) =>
    waitFor(
      `the start of order ${orderId} delivered`,
      async () => {
        const start = await startOf(orderId);
        return start?.status === 'delivered' ? start : undefined;
      },
      30_000,
    );

  beforeAll(async () => {
    coordinator = await startApp('coordinator', { ...world, DATABASE_SCHEMA: coordinatorSchema });
    api = new CoordinatorApi(coordinator.url);
    await api.register(saga);
    await Promise.all([startApp('inventory', world), startApp('payment', world)]);
    order = await startOrder();
    await addProducts(db, [{ sku, stock: 100 }]);
    await addAccounts(db, [{ id: account, balance: 1_000_000 }]);
  });

  afterAll(async () => {
    await db.end();
  });

  it('POST /api/v1/orders places the order and runs its place-order saga to completion', async () => {
    const placed = await placeOrder();
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ ...items, status: 'pending', txId: null });

    const start = await delivered(placed.body.id);
    const tx = await api.waitFor(start.tx_id!, TERMINAL);
    expect(tx.status).toBe('completed');
    expect(tx.steps.find((s) => s.id === 'create-order')!.output).toEqual({ orderId: placed.body.id });
    expect(await orderRow(placed.body.id)).toEqual({ status: 'confirmed', tx_id: tx.id });
    // Started under the service's own key, which may start and read transactions only.
    expect(await transactionsOf(placed.body.id)).toEqual([{ id: tx.id, status: 'completed', started_by: testActor('starter') }]);
    // The saga's trace is the one of the request that placed the order.
    const traceId = (traceparent: string | null) => traceparent?.split('-')[1];
    const started = await db.query(`SELECT traceparent FROM ${coordinatorSchema}.transactions WHERE id = $1`, [tx.id]);
    expect(traceId(start.traceparent)).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId(started.rows[0].traceparent)).toBe(traceId(start.traceparent));
    const stock = await db.query('SELECT stock FROM inventory.products WHERE sku = $1', [sku]);
    expect(stock.rows).toEqual([{ stock: 99 }]);
  });

  it('POST /api/v1/orders with an Idempotency-Key places one order however often it is sent', async () => {
    const key = `checkout-${suffix}`;
    // Sent twice at once and once more after: one order, one start, one saga.
    const answers = [...(await Promise.all([placeOrder(items, key), placeOrder(items, key)])), await placeOrder(items, key)];
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    const [first] = answers;
    expect(new Set(answers.map((a) => a.body.id))).toEqual(new Set([first.body.id]));
    expect((await db.query(`SELECT count(*)::int AS n FROM ${orderSchema}.orders WHERE idempotency_key = $1`, [key])).rows).toEqual([{ n: 1 }]);
    const tx = await api.waitFor((await delivered(first.body.id)).tx_id!, TERMINAL);
    expect(tx.status).toBe('completed');
    expect((await transactionsOf(first.body.id)).map((t) => t.id)).toEqual([tx.id]);

    // The same key for other items is refused; a key too long is bad input.
    const other = await placeOrder({ ...items, qty: 2 }, key);
    expect([other.status, other.body.error?.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    const long = await placeOrder(items, 'k'.repeat(201));
    expect([long.status, long.body.error?.code]).toEqual([400, 'INVALID_IDEMPOTENCY_KEY']);
  });
  it('refuses a malformed order with 400, naming every problem, and starts nothing', async () => {
    const refused = await placeOrder({ ...items, qty: 0, sku: '' });
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(refused.body)).toMatch(/qty.*sku|sku.*qty/);
  });

  it('starts exactly one saga for an order whose service was SIGKILLed between its commit and the delivery', async () => {
    // Held: the start is committed but not delivered while this instance lives.
    await order.stop();
    order = await startOrder({ FAULT_STARTS_HOLD_MS: '600000' });
    const placed = await placeOrder();
    expect(placed.status).toBe(201);
    await sleep(1_000); // a few sweeps: still held
    expect(await startOf(placed.body.id)).toMatchObject({ status: 'pending', attempts: 0, tx_id: null });
    expect(await transactionsOf(placed.body.id)).toEqual([]);

    order.process.kill('SIGKILL');
    await order.stop();
    order = await startOrder();

    const start = await delivered(placed.body.id);
    expect(start.attempts).toBe(1);
    const tx = await api.waitFor(start.tx_id!, TERMINAL);
    expect(tx.status).toBe('completed');
    expect(await transactionsOf(placed.body.id)).toEqual([expect.objectContaining({ id: tx.id })]);
    expect(await orderRow(placed.body.id)).toEqual({ status: 'confirmed', tx_id: tx.id });
  });

  it('starts nothing when the local transaction rolls back after writing the start', async () => {
    // Fails the order's transaction at COMMIT, after the order and its start were written.
    const refuse = `refuse_${suffix}`;
    await db.query(`
      CREATE FUNCTION ${orderSchema}.${refuse}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.customer = 'refused-at-commit' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$`);
    await db.query(`CREATE CONSTRAINT TRIGGER ${refuse} AFTER INSERT ON ${orderSchema}.orders
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${orderSchema}.${refuse}()`);
    try {
      const failed = await placeOrder({ ...items, customer: 'refused-at-commit' });
      expect(failed.status).toBe(500);
    } finally {
      await db.query(`DROP TRIGGER ${refuse} ON ${orderSchema}.orders`);
      await db.query(`DROP FUNCTION ${orderSchema}.${refuse}()`);
    }
    await sleep(1_000); // a few sweeps
    const starts = await db.query(`SELECT * FROM ${orderSchema}.ordo_starts WHERE input->>'customer' = 'refused-at-commit'`);
    expect(starts.rows).toEqual([]);
    expect((await db.query(`SELECT * FROM ${orderSchema}.orders WHERE customer = 'refused-at-commit'`)).rows).toEqual([]);
    const started = await db.query(`SELECT id FROM ${coordinatorSchema}.transactions WHERE input->>'customer' = 'refused-at-commit'`);
    expect(started.rows).toEqual([]);
  });

  it('starts one saga for a start delivered twice', async () => {
    const placed = await placeOrder();
    const first = await delivered(placed.body.id);
    // As if the relay died after the coordinator answered and before it recorded the answer,
    // and its claim on the start had run out.
    await db.query(
      `UPDATE ${orderSchema}.ordo_starts SET status = 'pending', tx_id = NULL, finished_at = NULL, next_attempt_at = now() WHERE id = $1`,
      [first.id],
    );
    await waitFor('the second delivery', async () => ((await startOf(placed.body.id))!.attempts === 2 ? true : undefined), 30_000);
    const second = await delivered(placed.body.id);
    expect(second.tx_id).toBe(first.tx_id);
    expect(await transactionsOf(placed.body.id)).toEqual([expect.objectContaining({ id: first.tx_id })]);
    expect((await api.waitFor(first.tx_id!, TERMINAL)).status).toBe('completed');
  });

  it('delivers each start once with two instances of the service sharing its outbox', async () => {
    const second = await startOrder();
    try {
      const place = (app: RunningApp) =>
        fetch(`${app.url}/api/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(items) }).then(
          async (response) => ((await response.json()) as OrderBody).id,
        );
      const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => place(i % 2 === 0 ? order : second)));
      const starts = await Promise.all(ids.map(delivered));
      // Claimed by one instance each: no start was sent twice.
      expect(starts.map((start) => start.attempts)).toEqual(ids.map(() => 1));
      for (const [i, id] of ids.entries()) expect(await transactionsOf(id)).toEqual([expect.objectContaining({ id: starts[i].tx_id })]);
      await Promise.all(starts.map((start) => api.waitFor(start.tx_id!, ['completed'])));
    } finally {
      await second.stop();
    }
  });

  it('marks a start the coordinator refuses for good rejected, with its error, and retries none', async () => {
    const id = randomUUID();
    await db.query(`INSERT INTO ${orderSchema}.ordo_starts (id, idempotency_key, definition, input) VALUES ($1, $2, 'no-such-saga', '{}')`, [id, id]);
    const rejected = await waitFor(
      'the rejection',
      async () => {
        const { rows } = await db.query<StartRow>(`SELECT * FROM ${orderSchema}.ordo_starts WHERE id = $1`, [id]);
        return rows[0].status === 'rejected' ? rows[0] : undefined;
      },
      30_000,
    );
    expect(rejected).toMatchObject({ attempts: 1, tx_id: null, last_error: { status: 404, code: 'DEFINITION_NOT_FOUND' } });
    await sleep(1_000); // a few sweeps
    expect((await db.query(`SELECT attempts FROM ${orderSchema}.ordo_starts WHERE id = $1`, [id])).rows).toEqual([{ attempts: 1 }]);
  });
});
