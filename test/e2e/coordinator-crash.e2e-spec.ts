import { randomBytes } from 'crypto';
import { Command } from '@ordo/protocol';
import { CoordinatorApi, TERMINAL, TxView } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { Behaviour, failForward, LogEntry, retryFirst, script, TestParticipant } from '../support/test-participant';
import { orderSaga } from '../../tools/bench/order-saga';

const SAGAS = 240;
const CONCURRENCY = 24;

/**
 * Two coordinator instances share one database and one Kafka cluster while sagas are in
 * flight; one is SIGKILLed mid-run and started again. Every saga must end terminal, and no
 * step's effect or compensation may be applied twice at the participants.
 */
describe('coordinator crash with two instances', () => {
  const suffix = randomBytes(3).toString('hex');
  const [shop, bank] = [`cshop-${suffix}`, `cbank-${suffix}`];
  const log: LogEntry[] = [];
  // A third of the sagas are refused at charge (rollback); a third see transient errors.
  const behaviour: Behaviour = (command: Command, ctx) => {
    const n = Number(command.input.n);
    if (n % 3 === 1) return script(failForward('charge', 'DECLINED'))(command, ctx);
    if (n % 3 === 2) return script(retryFirst('reserve', 'execute', 1))(command, ctx);
    return script()(command, ctx);
  };
  const participants = [shop, bank].map((name) => new TestParticipant({ name, behaviour, log }));
  let instances: RunningApp[] = [];

  beforeAll(async () => {
    await Promise.all(participants.map((p) => p.start()));
    instances = [await startApp('coordinator'), await startApp('coordinator')];
  });

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await Promise.all(participants.map((p) => p.stop()));
  });

  it('loses nothing and applies nothing twice when an instance is killed mid-run', async () => {
    const flow = `crash-${suffix}`;
    const [a, b] = instances.map((i) => new CoordinatorApi(i.url));
    await b.register(
      orderSaga(flow, { shop, bank, defaults: { timeoutMs: 3000, retry: { maxAttempts: 5, initialDelayMs: 50, multiplier: 2, maxDelayMs: 500 } } }),
    );

    const started = Date.now();
    const ids: string[] = [];
    let killedAt = 0;
    let next = 0;
    const client = () => (killedAt === 0 && next % 2 === 0 ? a : b);
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < SAGAS) {
          const n = next++;
          if (n === SAGAS / 2 && killedAt === 0) {
            // Mid-run: kill instance A without warning, then bring it back.
            killedAt = Date.now();
            instances[0].process.kill('SIGKILL');
            void startApp('coordinator').then((restarted) => (instances[0] = restarted));
          }
          // A request cut off by the kill is retried on the other instance with the same
          // idempotency key, as a client should: it may or may not have been committed.
          const start = (api: CoordinatorApi) => api.start(flow, { n }, `${flow}-${n}`);
          ids.push((await start(client()).catch(() => start(b))).id);
        }
      }),
    );

    const finals: TxView[] = [];
    for (const id of ids) finals.push(await b.waitFor(id, TERMINAL, 120_000));
    const finished = Date.now();

    expect(new Set(ids).size).toBe(SAGAS);
    const byStatus = finals.reduce<Record<string, number>>((acc, tx) => ({ ...acc, [tx.status]: (acc[tx.status] ?? 0) + 1 }), {});
    expect(byStatus).toEqual({ completed: (SAGAS / 3) * 2, compensated: SAGAS / 3 });

    // At most one effect per (transaction, step, phase), however often it was delivered.
    const effects = new Map<string, number>();
    for (const entry of log.filter((e) => e.effect)) {
      const key = `${entry.txId}/${entry.stepId}/${entry.phase}`;
      effects.set(key, (effects.get(key) ?? 0) + 1);
    }
    expect([...effects.values()].every((count) => count === 1)).toBe(true);
    // Every completed saga applied all four steps; every compensated one undid create.
    for (const tx of finals) {
      const applied = (phase: string, step: string) => effects.get(`${tx.id}/${step}/${phase}`) ?? 0;
      if (tx.status === 'completed') expect(['create', 'reserve', 'charge', 'confirm'].map((s) => applied('execute', s))).toEqual([1, 1, 1, 1]);
      else expect(applied('compensate', 'create')).toBe(applied('execute', 'create'));
    }

    const deliveries = log.length;
    const byBarrier = log.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.barrier]: (acc[e.barrier] ?? 0) + 1 }), {});
    const seconds = (finished - started) / 1000;
    process.stdout.write(
      `[crash] ${SAGAS} sagas in ${seconds.toFixed(1)} s (${(SAGAS / seconds).toFixed(1)} sagas/s); ` +
        `${deliveries} deliveries (${JSON.stringify(byBarrier)}), ${effects.size} effects; all terminal ${((finished - killedAt) / 1000).toFixed(1)} s after the kill\n`,
    );
    expect(instances[0].process.exitCode).toBeNull();
  });
});
