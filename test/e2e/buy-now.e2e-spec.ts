import { randomBytes, randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { REPO_ROOT } from '../../tools/infra/paths';
import { waitFor } from '../../tools/infra/proc';
import {
  Account,
  addAccounts,
  addProducts,
  buyNowInconsistent,
  moneyNotConserved,
  preparedLeft,
  Product,
  stockNotConserved,
} from '../../tools/chaos/invariants';
import { testActor } from '../support/auth';
import { codeOf, CoordinatorApi, TERMINAL, TxView } from '../support/coordinator-api';
import { runClosedLoop, seeded } from '../support/load';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * The buy-now two-phase commit end to end: the coordinator and the real inventory and
 * payment services, whose prepares hold their work in PostgreSQL prepared transactions
 * until the decision. Kill tests: a participant killed while prepared, a participant
 * restarted in doubt, the coordinator killed right after the COMMIT decision.
 *
 * Like place-order, a world of its own: its topic prefix and coordinator schema.
 */
describe('buy-now: 2PC over PostgreSQL prepared transactions', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const prefix = `${env.topicPrefix}buy-now.`;
  // Failure injection on: the tests aim `_fault` at steps and crash the coordinator (FAULT_CRASH).
  const world = { KAFKA_TOPIC_PREFIX: prefix, KAFKA_TOPIC_PARTITIONS: '4', FAULT_INJECTION: 'on' };
  const schema = 'ordo_buy_now';
  const sample: { name: string; steps: { id: string; input: Record<string, string> }[] } = JSON.parse(
    readFileSync(join(REPO_ROOT, 'apps/inventory/buy-now.2pc.json'), 'utf8'),
  );
  // The test's copy lets a transaction aim `_fault` flags at one step: `faults: { <stepId>: {…} }`.
  const definition = {
    ...sample,
    steps: sample.steps.map((step) => ({ ...step, input: { ...step.input, _fault: `$.input.faults.${step.id}` } })),
  };
  const db = new Client({ connectionString: env.databaseUrl });
  let coordinator: RunningApp;
  let coordinatorEnv: Record<string, string>;
  let api: CoordinatorApi;
  const participants: Partial<Record<'inventory' | 'payment', RunningApp>> = {};

  const startParticipant = async (name: 'inventory' | 'payment', extra: Record<string, string> = {}) => {
    participants[name] = await startApp(name, { ...world, ORDO_COORDINATOR_URL: coordinator.url, ...extra });
  };
  const exitOf = (app: RunningApp) =>
    app.process.exitCode !== null
      ? Promise.resolve(app.process.exitCode)
      : new Promise<number | null>((resolve) => app.process.once('exit', resolve));

  const sku = (name: string) => `BN-${suffix}-${name}`;
  const account = (name: string) => `bn-${suffix}-${name}`;
  const addStock = async (products: Product[], accounts: Account[]) => {
    await addProducts(db, products);
    await addAccounts(db, accounts);
  };
  const buy = (input: { sku: string; qty: number; accountId: string; amount: number; faults?: object }) =>
    api.start(definition.name, { orderId: randomUUID(), ...input });
  const stockOf = async (s: string) => (await db.query('SELECT stock FROM inventory.products WHERE sku = $1', [s])).rows[0].stock as number;
  const balanceOf = async (id: string) => Number((await db.query('SELECT balance FROM payment.accounts WHERE id = $1', [id])).rows[0].balance);
  /** This world's prepared transactions of one transaction. */
  const preparedOf = async (txId: string) =>
    (
      await db.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE starts_with(gid, $1) AND gid LIKE $2 ORDER BY gid', [
        `ordo:${prefix}`,
        `%:${txId}:%`,
      ])
    ).rows.map((r) => r.gid);
  const barrier = async (participant: 'inventory' | 'payment', txId: string) =>
    Object.fromEntries(
      (await db.query(`SELECT step_id, phase, origin FROM ${participant}.ordo_barrier WHERE tx_id = $1`, [txId])).rows.map((r) => [
        `${r.step_id}:${r.phase}`,
        r.origin,
      ]),
    );
  const effects = async (txId: string) => ({
    reservations: (await db.query('SELECT status FROM inventory.reservations WHERE tx_id = $1', [txId])).rows.map((r) => r.status),
    charges: (await db.query('SELECT status FROM payment.charges WHERE tx_id = $1', [txId])).rows.map((r) => r.status),
  });
  const decisionOf = async (txId: string) => (await api.request<{ decision: string }>('GET', `/transactions/${txId}`)).body.decision;

  beforeAll(async () => {
    await db.connect();
    coordinatorEnv = { ...world, DATABASE_SCHEMA: schema };
    coordinator = await startApp('coordinator', coordinatorEnv);
    coordinatorEnv.PORT = String(coordinator.port);
    api = new CoordinatorApi(coordinator.url);
    await Promise.all([startParticipant('inventory'), startParticipant('payment')]);
    await api.register(definition);
    await addStock(
      [
        { sku: sku('tea'), stock: 100 },
        { sku: sku('rare'), stock: 1 },
      ],
      [{ id: account('ada'), balance: 1_000_000 }],
    );
  });

  afterAll(async () => {
    await db.end();
  });

  it('commits both prepared transactions when both vote yes, the decision written first', async () => {
    const tx = await api.waitFor((await buy({ sku: sku('tea'), qty: 2, accountId: account('ada'), amount: 500 })).id, TERMINAL);
    expect(tx.status).toBe('completed');
    expect(await decisionOf(tx.id)).toBe('commit');
    expect(await effects(tx.id)).toEqual({ reservations: ['active'], charges: ['charged'] });
    expect(await preparedOf(tx.id)).toEqual([]);
    expect(await barrier('payment', tx.id)).toEqual({ 'charge:prepare': 'handler', 'charge:commit': 'handler' });
    const events = await api.events(tx.id);
    const decided = events.findIndex((e) => e.type === 'transaction.decided');
    expect(decided).toBeGreaterThanOrEqual(0);
    expect(decided).toBeLessThan(events.findIndex((e) => e.type === 'step.dispatched' && e.data.phase === 'commit'));
  });

  it('aborts on a NO vote: the other prepared transaction is rolled back, nothing stays', async () => {
    const [stock, balance] = [await stockOf(sku('rare')), await balanceOf(account('ada'))];
    const tx = await api.waitFor((await buy({ sku: sku('rare'), qty: 5, accountId: account('ada'), amount: 700 })).id, TERMINAL);
    expect(tx.status).toBe('compensated');
    expect(tx.steps.find((s) => s.id === 'reserve-stock')!.lastError?.code).toBe('OUT_OF_STOCK');
    expect(await decisionOf(tx.id)).toBe('abort');
    expect(await effects(tx.id)).toEqual({ reservations: [], charges: [] });
    expect([await stockOf(sku('rare')), await balanceOf(account('ada'))]).toEqual([stock, balance]);
    expect(await preparedOf(tx.id)).toEqual([]);
    // The NO vote is stored; the charge was prepared and rolled back by the abort, which fences a late prepare.
    expect(await barrier('inventory', tx.id)).toEqual({ 'reserve-stock:prepare': 'handler' });
    expect(await barrier('payment', tx.id)).toEqual({ 'charge:abort': 'handler', 'charge:prepare': 'fence' });
  });

  it('retries a commit that fails transiently until it is acknowledged', async () => {
    const faults = { charge: { transientAttempts: 2, phases: ['commit'] } };
    const tx = await api.waitFor((await buy({ sku: sku('tea'), qty: 1, accountId: account('ada'), amount: 250, faults })).id, TERMINAL);
    expect(tx.status).toBe('completed');
    expect(tx.steps.find((s) => s.id === 'charge')).toMatchObject({ phase: 'commit', status: 'succeeded', attempt: 3 });
    expect(await effects(tx.id)).toEqual({ reservations: ['active'], charges: ['charged'] });
  });

  it('keeps the work of a participant killed while prepared; the decision finishes it after the restart', async () => {
    const balance = await balanceOf(account('ada'));
    const faults = { charge: { crash: 'after-commit', phases: ['prepare'] } };
    const { id } = await buy({ sku: sku('tea'), qty: 1, accountId: account('ada'), amount: 300, faults });
    expect(await exitOf(participants.payment!)).toBe(137);
    // Prepared before the kill: held by the database, invisible, and not lost.
    expect(await preparedOf(id)).toContain(`ordo:${prefix}payment:${id}:charge`);
    expect(await balanceOf(account('ada'))).toBe(balance);
    await participants.payment!.stop();
    await startParticipant('payment');
    const tx = await api.waitFor(id, TERMINAL);
    expect(tx.status).toBe('completed');
    expect(await effects(id)).toEqual({ reservations: ['active'], charges: ['charged'] });
    expect(await balanceOf(account('ada'))).toBe(balance - 300);
    expect(await preparedOf(id)).toEqual([]);
  });

  it('a participant restarted in doubt asks the coordinator for the decision and commits', async () => {
    const balance = await balanceOf(account('ada'));
    const faults = { charge: { crash: 'before-commit', phases: ['commit'] } };
    const { id } = await buy({ sku: sku('tea'), qty: 1, accountId: account('ada'), amount: 400, faults });
    expect(await exitOf(participants.payment!)).toBe(137);
    expect(await preparedOf(id)).toEqual([`ordo:${prefix}payment:${id}:charge`]);
    expect(await decisionOf(id)).toBe('commit');
    await participants.payment!.stop();
    await startParticipant('payment');
    // Finished by in-doubt recovery before the redelivered commit was consumed.
    expect(await preparedOf(id)).toEqual([]);
    expect(await barrier('payment', id)).toEqual({ 'charge:prepare': 'handler', 'charge:commit': 'recovered' });
    expect((await api.waitFor(id, TERMINAL)).status).toBe('completed');
    expect(await balanceOf(account('ada'))).toBe(balance - 400);
    expect(await effects(id)).toEqual({ reservations: ['active'], charges: ['charged'] });
  });

  it('a coordinator killed between the COMMIT decision and its publish delivers the commits after its restart', async () => {
    const balance = await balanceOf(account('ada'));
    await coordinator.stop();
    coordinator = await startApp('coordinator', { ...coordinatorEnv, FAULT_CRASH: 'after-commit-decision' });
    const { id } = await buy({ sku: sku('tea'), qty: 1, accountId: account('ada'), amount: 600 });
    expect(await exitOf(coordinator)).toBe(137);
    await coordinator.stop();
    // The decision is durable, and no commit left: both participants still hold their work.
    const decided = await db.query(`SELECT status, decision FROM ${schema}.transactions WHERE id = $1`, [id]);
    expect(decided.rows).toEqual([{ status: 'running', decision: 'commit' }]);
    expect(await preparedOf(id)).toEqual([`ordo:${prefix}inventory:${id}:reserve-stock`, `ordo:${prefix}payment:${id}:charge`]);
    // The commits were committed to the outbox and never published: the sweeper sends them.
    const left = await db.query(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE key = $1 AND payload::jsonb ->> 'phase' = 'commit'`, [id]);
    expect(left.rows).toEqual([{ n: 2 }]);
    coordinator = await startApp('coordinator', coordinatorEnv);
    const tx = await api.waitFor(id, TERMINAL);
    expect(tx.status).toBe('completed');
    expect(await preparedOf(id)).toEqual([]);
    expect(await effects(id)).toEqual({ reservations: ['active'], charges: ['charged'] });
    expect(await balanceOf(account('ada'))).toBe(balance - 600);
  });

  describe('the in-doubt view', () => {
    type InDoubt = {
      participant: string;
      txId: string;
      stepId: string;
      gid: string;
      verdict: string;
      shouldBeFinished: boolean;
      heldMs: number;
      relations: string[];
    };
    const inDoubt = async () => (await api.request<{ items: InDoubt[] }>('GET', '/in-doubt')).body.items;
    const listed = (txId: string, verdict: string) =>
      waitFor(`${txId} listed in doubt as ${verdict}`, async () => (await inDoubt()).find((w) => w.txId === txId && w.verdict === verdict), 10_000);
    const finish = (as: CoordinatorApi, txId: string, stepId: string) =>
      as.request<{ error?: { code: string }; finishRequestedBy?: string }>('POST', `/in-doubt/payment/${txId}/${stepId}/finish`, {
        note: 'ticket OPS-7',
      });

    beforeAll(async () => {
      // Reports often; recovery on its own only after an hour, so what finishes the work here is the operator.
      await participants.payment!.stop();
      await startParticipant('payment', { PREPARED_REPORT_MS: '200', IN_DOUBT_AFTER_MS: '3600000' });
    });

    afterAll(async () => {
      await api.request('POST', '/participants/payment/resume', {});
      await participants.payment!.stop();
      await startParticipant('payment');
    });

    it('lists prepared work with its verdict; finish now applies a known decision while the commit is held', async () => {
      const balance = await balanceOf(account('ada'));
      // The reservation votes late, so the charge waits prepared and undecided for a while.
      const faults = { 'reserve-stock': { latencyMs: 4000, phases: ['prepare'] } };
      const { id } = await buy({ sku: sku('tea'), qty: 1, accountId: account('ada'), amount: 700, faults });
      const pending = await listed(id, 'pending');
      expect(pending).toMatchObject({ participant: 'payment', stepId: 'charge', gid: `ordo:${prefix}payment:${id}:charge`, shouldBeFinished: false });
      expect(pending.relations).toContain('payment.accounts');
      // Undecided: nothing to finish it with.
      expect(codeOf(await finish(api, id, 'charge'))).toEqual([409, 'DECISION_PENDING']);
      // Its commit will be held: the decision is known, the work stays prepared.
      await api.request('POST', '/participants/payment/pause', { note: 'in-doubt test' });
      expect(await listed(id, 'commit')).toMatchObject({ shouldBeFinished: true });
      expect((await finish(new CoordinatorApi(coordinator.url, 'viewer'), id, 'charge')).status).toBe(403);
      const asked = await finish(api, id, 'charge');
      expect([asked.status, asked.body.finishRequestedBy]).toEqual([202, testActor('admin')]);
      await waitFor('the charge finished and gone from the view', async () => (await inDoubt()).every((w) => w.txId !== id) || undefined, 10_000);
      expect(await preparedOf(id)).toEqual([]);
      // Finished by the participant on the operator's request, not by the (held) command.
      expect(await barrier('payment', id)).toMatchObject({ 'charge:prepare': 'handler', 'charge:commit': 'recovered' });
      expect(await balanceOf(account('ada'))).toBe(balance - 700);
      const events = (await api.request<{ items: { type: string; actor: string; data: { note: string } }[] }>('GET', `/transactions/${id}/events`))
        .body.items;
      expect(events.find((e) => e.type === 'operator.prepared_finish_requested')).toMatchObject({
        actor: testActor('admin'),
        data: { note: 'ticket OPS-7' },
      });
      // The held commit, once resumed, finds it done: charged once.
      await api.request('POST', '/participants/payment/resume', {});
      expect((await api.waitFor(id, TERMINAL)).status).toBe('completed');
      expect(await balanceOf(account('ada'))).toBe(balance - 700);
    });

    it('lists prepared work the coordinator has no transaction for as missing; finish now rolls it back', async () => {
      const txId = randomUUID();
      const gid = `ordo:${prefix}payment:${txId}:charge`;
      const stray = new Client({ connectionString: env.databaseUrl });
      await stray.connect();
      try {
        await stray.query('BEGIN');
        await stray.query('SELECT txid_current()');
        await stray.query(`PREPARE TRANSACTION '${gid}'`);
      } finally {
        await stray.end();
      }
      expect(await listed(txId, 'missing')).toMatchObject({ gid, shouldBeFinished: true });
      expect((await finish(api, txId, 'charge')).status).toBe(202);
      await waitFor('the stray prepared transaction rolled back', async () => (await preparedOf(txId)).length === 0 || undefined, 10_000);
      await waitFor('and gone from the view', async () => (await inDoubt()).every((w) => w.txId !== txId) || undefined, 10_000);
      // The abort fenced the prepare it never saw.
      expect(await barrier('payment', txId)).toEqual({ 'charge:abort': 'recovered', 'charge:prepare': 'fence' });
      const audit = await db.query(
        `SELECT actor, data FROM ${schema}.audit_log WHERE type = 'operator.prepared_finish_requested' AND data ->> 'txId' = $1`,
        [txId],
      );
      expect(audit.rows).toEqual([
        { actor: testActor('admin'), data: expect.objectContaining({ participant: 'payment', gid, note: 'ticket OPS-7' }) },
      ]);
    });

    it('takes reports from participant keys only, and refuses a malformed one', async () => {
      const report = { instance: 'test', items: [] };
      expect((await new CoordinatorApi(coordinator.url, 'viewer').request('PUT', '/participants/payment/prepared', report)).status).toBe(403);
      expect((await new CoordinatorApi(coordinator.url, 'participant').request('PUT', '/participants/ghost/prepared', report)).status).toBe(200);
      const bad = await new CoordinatorApi(coordinator.url, 'participant').request('PUT', '/participants/ghost/prepared', {
        instance: 'test',
        items: [{ gid: 'x' }],
      });
      expect(codeOf(bad)).toEqual([400, 'VALIDATION_FAILED']);
    });
  });

  describe('under load with transient faults', () => {
    const TXS = 200;
    const CONCURRENCY = 20;
    // Many rows: a prepared transaction locks its product and account until the decision.
    const products = Array.from({ length: 30 }, (_, i) => ({ sku: sku(`load-${i}`), stock: [40, 20, 10, 3][i % 4], price: 300 + 100 * (i % 7) }));
    const accounts = Array.from({ length: 60 }, (_, i) => ({ id: account(`load-${i}`), balance: [20_000, 8_000, 3_000, 500][i % 4] }));

    beforeAll(async () => {
      await Promise.all(Object.values(participants).map((p) => p.stop()));
      const faulty = { FAULT_TRANSIENT_RATE: '0.2' };
      await Promise.all([startParticipant('inventory', faulty), startParticipant('payment', faulty)]);
      await addStock(products, accounts);
    });

    it(`ends ${TXS} concurrent buy-nows committed or aborted, with stock and money conserved`, async () => {
      const name = `${definition.name}-load`;
      // 10 attempts: at a 20% fault rate a must-succeed phase spends them with p = 1e-7.
      await api.register({
        ...definition,
        name,
        defaults: { timeoutMs: 5000, retry: { maxAttempts: 10, initialDelayMs: 50, multiplier: 2, maxDelayMs: 1000 } },
      });
      const random = seeded(11);
      const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
      const inputs = Array.from({ length: TXS }, () => {
        const [product, payer, qty] = [pick(products), pick(accounts), pick([1, 2, 3])];
        return { orderId: randomUUID(), sku: product.sku, qty, accountId: payer.id, amount: qty * product.price };
      });

      // Closed loop: each unfinished transaction holds locks (and a prepared-transaction
      // slot, max_prepared_transactions) in both databases until its decision arrives.
      const started = Date.now();
      const finals = await runClosedLoop(api, name, inputs, CONCURRENCY);
      const seconds = (Date.now() - started) / 1000;
      const ids = finals.map((tx) => tx.id);

      expect(finals.filter((tx: TxView) => tx.status !== 'completed' && tx.status !== 'compensated')).toEqual([]);
      const committed = new Set(finals.filter((tx) => tx.status === 'completed').map((tx) => tx.id));
      // Committed: the reservation and the charge both stayed; aborted: neither.
      expect(await buyNowInconsistent(db, ids, committed)).toEqual([]);
      // Conserved exactly: stock + active reservations, balance + charges, per row.
      expect(await stockNotConserved(db, products)).toEqual([]);
      expect(await moneyNotConserved(db, accounts)).toEqual([]);
      // Every prepared transaction was finished.
      expect(await preparedLeft(db, prefix)).toEqual([]);

      expect(committed.size).toBeGreaterThan(0);
      expect(committed.size).toBeLessThan(TXS);
      const conflicts = (await Promise.all(ids.map((id) => api.events(id))))
        .flat()
        .filter((e) => e.type === 'step.replied' && (e.data.error as { code?: string } | undefined)?.code === 'LOCK_CONFLICT').length;
      const causes: Record<string, number> = {};
      for (const tx of finals.filter((t) => !committed.has(t.id))) {
        const refused = tx.steps.find((s) => s.status === 'failed') ?? tx.steps.find((s) => s.lastError);
        const cause = refused ? `${refused.id}:${refused.lastError!.code}` : 'other';
        causes[cause] = (causes[cause] ?? 0) + 1;
      }
      process.stdout.write(
        `[buy-now] ${TXS} 2PC transactions in ${seconds.toFixed(1)} s (${(TXS / seconds).toFixed(1)} txs/s); ` +
          `${committed.size} committed, ${TXS - committed.size} aborted (${JSON.stringify(causes)}); lock-conflict retries ${conflicts}\n`,
      );
    }, 300_000);
  });
});
