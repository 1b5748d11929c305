import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { REPO_ROOT } from '../../tools/infra/paths';
import { Account, addAccounts as addAccountRows, transfersInconsistent } from '../../tools/chaos/invariants';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { seeded, startConcurrently, waitAllTerminal } from '../support/load';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

interface Definition {
  name: string;
  defaults: { timeoutMs: number; retry: object };
  steps: { id: string; input: Record<string, string> }[];
}
interface AccountView {
  balance: number;
  frozen: number;
}
interface HoldView {
  txId: string;
  stepId: string;
  accountId: string;
  amount: number;
  direction: string;
  status: string;
}

/**
 * The sample TCC transfer end to end: the coordinator and the real payment service as
 * processes, over real PostgreSQL and Kafka, running the committed transfer definition
 * (withdraw ∥ deposit). Effects are checked through the payment API and its tables.
 *
 * Like place-order's, this file runs in a world of its own (topic prefix, coordinator
 * schema) and uses accounts of its own in the run's shared payment schema.
 */
describe('transfer TCC', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  // Failure injection on: tests use `_fault` and FAULT_TRANSIENT_RATE.
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}transfer.`, KAFKA_TOPIC_PARTITIONS: '8', FAULT_INJECTION: 'on' };
  const transfer: Definition = JSON.parse(readFileSync(join(REPO_ROOT, 'apps/payment/transfer.tcc.json'), 'utf8'));
  const db = new Client({ connectionString: env.databaseUrl });
  let api: CoordinatorApi;
  let payment: RunningApp;

  const account = (name: string) => `tr-${suffix}-${name}`;
  const addAccounts = (accounts: Account[]) => addAccountRows(db, accounts);
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${payment.url}/api/v1${path}`);
    return { status: response.status, body: (await response.json()) as T };
  };
  const accountOf = async (id: string) => (await get<AccountView>(`/accounts/${id}`)).body;
  /** The transaction's holds by step id. */
  const holdsOf = async (txId: string) => {
    const { body } = await get<{ items: HoldView[] }>(`/transfers?txId=${txId}`);
    return Object.fromEntries(
      body.items.map((h) => [h.stepId, { accountId: h.accountId, amount: h.amount, direction: h.direction, status: h.status }]),
    );
  };
  const run = async (definition: string, input: object) => api.waitFor((await api.start(definition, input)).id, TERMINAL);

  beforeAll(async () => {
    await db.connect();
    const coordinator = await startApp('coordinator', { ...world, DATABASE_SCHEMA: 'ordo_transfer' });
    api = new CoordinatorApi(coordinator.url);
    payment = await startApp('payment', world);
    await api.register(transfer);
    await addAccounts([
      { id: account('ada'), balance: 10_000 },
      { id: account('bob'), balance: 500 },
    ]);
  });

  afterAll(async () => {
    await db.end();
  });

  it('moves the money and confirms both holds', async () => {
    const tx = await run(transfer.name, { from: account('ada'), to: account('bob'), amount: 2500 });
    expect(tx.status).toBe('completed');
    expect(tx.steps.map((s) => [s.id, s.phase, s.status])).toEqual([
      ['withdraw', 'confirm', 'succeeded'],
      ['deposit', 'confirm', 'succeeded'],
    ]);
    expect(await accountOf(account('ada'))).toMatchObject({ balance: 7500, frozen: 0 });
    expect(await accountOf(account('bob'))).toMatchObject({ balance: 3000, frozen: 0 });
    expect(await holdsOf(tx.id)).toEqual({
      withdraw: { accountId: account('ada'), amount: 2500, direction: 'debit', status: 'confirmed' },
      deposit: { accountId: account('bob'), amount: 2500, direction: 'credit', status: 'confirmed' },
    });
    const ada = await get<{ items: HoldView[] }>(`/transfers?accountId=${account('ada')}&limit=500`);
    expect(ada.body.items.map((h) => h.txId)).toContain(tx.id);
    expect((await get<{ error: { code: string } }>('/transfers?limit=0')).status).toBe(400);
  });

  it('cancels a transfer the source cannot cover, moving nothing', async () => {
    const tx = await run(transfer.name, { from: account('bob'), to: account('ada'), amount: 1_000_000 });
    expect(tx.status).toBe('compensated');
    expect(tx.steps.find((s) => s.id === 'withdraw')!.lastError?.code).toBe('INSUFFICIENT_FUNDS');
    expect(await accountOf(account('bob'))).toMatchObject({ balance: 3000, frozen: 0 });
    expect(await accountOf(account('ada'))).toMatchObject({ balance: 7500, frozen: 0 });
    // The refused withdraw left no hold; the deposit's, tried in parallel, is cancelled.
    expect(await holdsOf(tx.id)).toEqual({
      deposit: { accountId: account('ada'), amount: 1_000_000, direction: 'credit', status: 'cancelled' },
    });
  });

  it('cancels a transfer to an unknown account, unfreezing the source', async () => {
    const tx = await run(transfer.name, { from: account('ada'), to: account('nobody'), amount: 700 });
    expect(tx.status).toBe('compensated');
    expect(tx.steps.find((s) => s.id === 'deposit')!.lastError?.code).toBe('UNKNOWN_ACCOUNT');
    expect(await accountOf(account('ada'))).toMatchObject({ balance: 7500, frozen: 0 });
    expect(await holdsOf(tx.id)).toEqual({
      withdraw: { accountId: account('ada'), amount: 700, direction: 'debit', status: 'cancelled' },
    });
  });

  // The committed mapping passes only accountId and amount: this copy also passes the
  // transaction input's `_fault` to both steps.
  const withFaults = async (suffixName: string, retry?: object) => {
    const name = `${transfer.name}-${suffixName}`;
    await api.register({
      ...transfer,
      name,
      ...(retry ? { defaults: { ...transfer.defaults, retry } } : {}),
      steps: transfer.steps.map((step) => ({ ...step, input: { ...step.input, _fault: '$.input._fault' } })),
    });
    return name;
  };

  it('retries confirms that fail transiently until they go through, moving the money once', async () => {
    const name = await withFaults('faults');
    const _fault = { transientAttempts: 2, phases: ['confirm'] };
    const tx = await run(name, { from: account('ada'), to: account('bob'), amount: 500, _fault });
    expect(tx.status).toBe('completed');
    // Two attempts answered `retry`, the third (at least) confirmed.
    for (const step of tx.steps) {
      expect(step).toMatchObject({ phase: 'confirm', status: 'succeeded' });
      expect(step.attempt).toBeGreaterThanOrEqual(3);
    }
    expect(await accountOf(account('ada'))).toMatchObject({ balance: 7000, frozen: 0 });
    expect(await accountOf(account('bob'))).toMatchObject({ balance: 3500, frozen: 0 });
  });

  it('leaves a transfer whose confirms spend their budget failed, with the money frozen; a replay confirms it', async () => {
    const name = await withFaults('stuck', { maxAttempts: 3, initialDelayMs: 20, multiplier: 2, maxDelayMs: 100 });
    // Attempts keep counting across a replay: 1–3 fail, the replay's attempt 4 goes through.
    const _fault = { transientAttempts: 3, phases: ['confirm'] };
    const stuck = await run(name, { from: account('ada'), to: account('bob'), amount: 1000, _fault });
    expect(stuck.status).toBe('failed');
    expect(stuck.steps.map((s) => [s.phase, s.status])).toEqual([
      ['confirm', 'failed'],
      ['confirm', 'failed'],
    ]);
    expect(await accountOf(account('ada'))).toMatchObject({ balance: 7000, frozen: 1000 });

    const replay = await api.request('POST', `/transactions/${stuck.id}/retry`);
    expect(replay.status).toBe(200);
    expect((await api.waitFor(stuck.id, ['completed', 'compensated'])).status).toBe('completed');
    expect(await accountOf(account('ada'))).toMatchObject({ balance: 6000, frozen: 0 });
    expect(await accountOf(account('bob'))).toMatchObject({ balance: 4500, frozen: 0 });
    expect(Object.values(await holdsOf(stuck.id)).map((h) => h.status)).toEqual(['confirmed', 'confirmed']);
  });

  describe('under load with transient faults', () => {
    const TRANSFERS = 200;
    const CONCURRENCY = 20;
    const TRANSIENT_RATE = 0.2;
    // Some balances are short on purpose, so some withdrawals are refused.
    const accounts = [60_000, 40_000, 30_000, 20_000, 10_000, 8_000, 5_000, 2_000, 1_000, 0].map((balance, i) => ({
      id: account(`load-${i}`),
      balance,
    }));
    const ids = accounts.map((a) => a.id);

    beforeAll(async () => {
      // The payment service now answers a fifth of all deliveries `retry` before any work.
      await payment.stop();
      payment = await startApp('payment', { ...world, FAULT_TRANSIENT_RATE: String(TRANSIENT_RATE) });
      await addAccounts(accounts);
    });

    it(`ends ${TRANSFERS} concurrent transfers completed or compensated, with money conserved`, async () => {
      // As in place-order's load test: 10 attempts make a must-succeed phase (confirm,
      // cancel) exhaust its budget at a 20% fault rate with p = 0.2^10 = 1e-7.
      const name = `${transfer.name}-load`;
      await api.register({ ...transfer, name, defaults: { ...transfer.defaults, retry: { ...transfer.defaults.retry, maxAttempts: 10 } } });
      const random = seeded(11);
      const below = (n: number) => Math.floor(random() * n);
      const inputs = Array.from({ length: TRANSFERS }, () => {
        const from = below(ids.length);
        const to = (from + 1 + below(ids.length - 1)) % ids.length;
        return { from: ids[from], to: ids[to], amount: 100 + below(3900) };
      });

      const started = Date.now();
      const txIds = await startConcurrently(api, name, inputs, CONCURRENCY);
      const finals = await waitAllTerminal(api, name, TRANSFERS);
      const seconds = (Date.now() - started) / 1000;

      expect(new Set(txIds).size).toBe(TRANSFERS);
      expect(finals.filter((tx) => tx.status !== 'completed' && tx.status !== 'compensated').map((tx) => tx.status)).toEqual([]);
      const completed = new Set(finals.filter((tx) => tx.status === 'completed').map((tx) => tx.id));

      // A completed transfer has both holds confirmed, a compensated one none, and no hold
      // is left tried; nothing is frozen, the total is unchanged, and each balance is its
      // initial one moved by exactly its confirmed holds.
      expect(await transfersInconsistent(db, txIds, completed, accounts)).toEqual([]);

      // The mix refuses some transfers for want of funds and serves others.
      const refused = await db.query<{ count: number }>(
        `SELECT count(*)::int AS count FROM payment.ordo_barrier
         WHERE tx_id = ANY($1) AND phase = 'try' AND origin = 'handler' AND reply->'error'->>'code' = 'INSUFFICIENT_FUNDS'`,
        [txIds],
      );
      const insufficient = refused.rows[0].count;
      expect(completed.size).toBeGreaterThan(0);
      expect(insufficient).toBeGreaterThan(0);

      // The replies the coordinator applied, by outcome: the injected faults show as `retry`.
      const replies: Record<string, number> = {};
      for (const id of txIds) {
        for (const event of await api.events(id)) {
          if (event.type === 'step.replied') replies[String(event.data.outcome)] = (replies[String(event.data.outcome)] ?? 0) + 1;
        }
      }
      expect(replies.retry ?? 0).toBeGreaterThan(0);
      process.stdout.write(
        `[transfer] ${TRANSFERS} transfers in ${seconds.toFixed(1)} s (${(TRANSFERS / seconds).toFixed(1)} transfers/s)\n` +
          `[transfer] ${completed.size} completed, ${TRANSFERS - completed.size} compensated ` +
          `(${insufficient} withdrawals refused for insufficient funds); replies ${JSON.stringify(replies)}\n`,
      );
    }, 300_000);
  });
});
