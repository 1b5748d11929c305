import { randomBytes } from 'crypto';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { RunningApp, runAppToExit, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * Failure injection is off unless FAULT_INJECTION=on: a real order service, started
 * without it, treats `_fault` in a command's input as ordinary data — no crash, no
 * latency, no injected `retry` — while the same service with it on acts on it. The
 * settings that inject faults are refused at start without it, and it is refused in
 * production mode.
 */
describe('fault injection switch', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}faults.`, DATABASE_SCHEMA: 'ordo_faults' };
  // create-order has no input mapping: it receives the whole transaction input, `_fault` included.
  const definition = {
    name: `fault-switch-${suffix}`,
    type: 'saga',
    defaults: { timeoutMs: 3000, retry: { maxAttempts: 3, initialDelayMs: 50, multiplier: 2, maxDelayMs: 200 } },
    steps: [
      { id: 'create-order', participant: 'order', action: 'create', compensation: 'cancel' },
      {
        id: 'confirm-order',
        participant: 'order',
        action: 'confirm',
        dependsOn: ['create-order'],
        input: { orderId: '$.steps.create-order.output.orderId' },
      },
    ],
  };
  const input = (n: number, _fault: unknown) => ({ customer: `faults-${suffix}-${n}`, sku: 'F-1', qty: 1, amount: 100, accountId: 'acc-f', _fault });
  const env0 = { DATABASE_URL: env.databaseUrl, KAFKA_BROKERS: env.kafkaBrokers, ...world };
  let api: CoordinatorApi;
  let order: RunningApp;

  beforeAll(async () => {
    const coordinator = await startApp('coordinator', world);
    api = new CoordinatorApi(coordinator.url);
    await api.register(definition);
    order = await startApp('order', world);
  });

  const createAttempts = (tx: { steps: { id: string; attempt: number }[] }) => tx.steps.find((s) => s.id === 'create-order')!.attempt;

  it('ignores _fault when off: no crash, no latency, no injected retry, and the input keeps it as data', async () => {
    const hostile = { crash: 'before-commit', transient: true, latencyMs: 60_000 };
    const started = Date.now();
    const txs = await Promise.all([api.start(definition.name, input(1, hostile)), api.start(definition.name, input(2, 'crash'))]);
    const done = await Promise.all(txs.map((tx) => api.waitFor(tx.id, TERMINAL, 30_000)));
    expect(done.map((tx) => tx.status)).toEqual(['completed', 'completed']);
    expect(done.map(createAttempts)).toEqual([1, 1]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(order.process.exitCode).toBeNull();
    expect(((await api.get(txs[0].id)) as unknown as { input: object }).input).toMatchObject({ _fault: hostile });
  });

  it('acts on _fault once FAULT_INJECTION=on (the same service, restarted)', async () => {
    await order.stop();
    order = await startApp('order', { ...world, FAULT_INJECTION: 'on' });
    const tx = await api.start(definition.name, input(3, { transientAttempts: 1, phases: ['execute'] }));
    const done = await api.waitFor(tx.id, TERMINAL, 30_000);
    expect(done.status).toBe('completed');
    expect(createAttempts(done)).toBe(2);
    const events = await api.events(tx.id);
    expect(events.find((e) => e.type === 'step.replied' && e.stepId === 'create-order')?.data).toMatchObject({
      outcome: 'retry',
      error: { code: 'INJECTED_TRANSIENT' },
    });
  });

  it('refuses fault settings without FAULT_INJECTION=on, and FAULT_INJECTION=on in production', async () => {
    const order = await runAppToExit('order', { ...env0, DATABASE_SCHEMA: 'orders', FAULT_INJECTION: 'off', FAULT_TRANSIENT_RATE: '0.5' });
    expect(order.code).toBe(1);
    expect(order.stderr.trim()).toBe(
      '[order] Invalid configuration: FAULT_TRANSIENT_RATE: FAULT_TRANSIENT_RATE needs FAULT_INJECTION=on (got "0.5")',
    );
    const crash = await runAppToExit('coordinator', { ...env0, FAULT_INJECTION: 'off', FAULT_CRASH: 'after-commit-decision' });
    expect(crash.code).toBe(1);
    expect(crash.stderr).toContain('FAULT_CRASH: FAULT_CRASH needs FAULT_INJECTION=on');
    const production = await runAppToExit('payment', { ...env0, DATABASE_SCHEMA: 'payment', FAULT_INJECTION: 'on', NODE_ENV: 'production' });
    expect(production.code).toBe(1);
    expect(production.stderr).toContain('FAULT_INJECTION: FAULT_INJECTION=on is refused with NODE_ENV=production');
  });
});
