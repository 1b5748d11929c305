import { randomBytes } from 'crypto';
import { Command } from '@ordo/protocol';
import { CoordinatorApi, TERMINAL, TxView } from '../support/coordinator-api';
import { RunningApp, startApp } from '../support/processes';
import { Behaviour, LogEntry, success, TestParticipant } from '../support/test-participant';

const SAGAS = 120;
const CONCURRENCY = 12;

const health = async (app: RunningApp, path: string) => {
  const response = await fetch(`${app.url}/api/v1/health${path}`);
  return { status: response.status, body: (await response.json()) as { status: string; details?: Record<string, { status: string }> } };
};

/**
 * SIGTERM to a coordinator mid-load: readiness turns 503 while liveness stays 200, the
 * process finishes what it holds and exits; what it leaves is picked up by another
 * instance, so every saga ends terminal and no effect is applied twice.
 */
describe('graceful shutdown', () => {
  const suffix = randomBytes(3).toString('hex');
  const log: LogEntry[] = [];
  // A little latency keeps commands in flight when the signal arrives.
  const behaviour: Behaviour = (_: Command) => ({ kind: 'delay', ms: 20, then: success() });
  const participant = new TestParticipant({ name: `gshop-${suffix}`, behaviour, log });
  const instances: RunningApp[] = [];

  beforeAll(async () => {
    await participant.start();
    instances.push(await startApp('coordinator', { SHUTDOWN_DELAY_MS: '1500' }), await startApp('coordinator'));
  });

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await participant.stop();
  });

  it('serves separate liveness and readiness probes', async () => {
    const [a] = instances;
    expect(await health(a, '/live')).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await health(a, '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toEqual({ shutdown: { status: 'up' }, database: { status: 'up' }, kafka: { status: 'up' } });
    expect((await health(a, '')).status).toBe(200);
  });

  it('finishes in-flight work on SIGTERM and leaves the rest to another instance', async () => {
    const [a, b] = instances;
    const [apiA, apiB] = [a, b].map((i) => new CoordinatorApi(i.url));
    const flow = `graceful-${suffix}`;
    await apiB.register({
      name: flow,
      type: 'saga',
      defaults: { timeoutMs: 3000, retry: { maxAttempts: 5, initialDelayMs: 50, multiplier: 2, maxDelayMs: 500 } },
      steps: [
        { id: 'create', participant: participant.name, action: 'create', compensation: 'cancel' },
        { id: 'reserve', participant: participant.name, action: 'reserve', compensation: 'release', dependsOn: ['create'] },
        { id: 'confirm', participant: participant.name, action: 'confirm', dependsOn: ['reserve'] },
      ],
    });

    const ids: string[] = [];
    let next = 0;
    let stopping: Promise<void> | undefined;
    let stoppedIn = 0;
    const readiness: number[] = [];
    const liveness: number[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < SAGAS) {
          const n = next++;
          if (n === SAGAS / 2 && !stopping) {
            const signalled = Date.now();
            stopping = a.stop().then(() => void (stoppedIn = Date.now() - signalled));
            // During SHUTDOWN_DELAY_MS: not ready, still alive.
            await new Promise((resolve) => setTimeout(resolve, 300));
            readiness.push((await health(a, '/ready')).status);
            liveness.push((await health(a, '/live')).status);
          }
          // A request refused or cut off by the shutdown is retried on B with the same key.
          const start = (api: CoordinatorApi) => api.start(flow, { n }, `${flow}-${n}`);
          ids.push((await start(stopping ? apiB : apiA).catch(() => start(apiB))).id);
        }
      }),
    );
    await stopping;
    instances.shift();
    instances.push(await startApp('coordinator'));

    const finals: TxView[] = [];
    for (const id of ids) finals.push(await apiB.waitFor(id, TERMINAL, 60_000));

    expect(readiness).toEqual([503]);
    expect(liveness).toEqual([200]);
    // It stopped by itself, soon, and nothing failed under it on the way out.
    expect(a.process.signalCode).toBe('SIGTERM');
    expect(stoppedIn).toBeLessThan(15_000);
    expect(a.output()).not.toMatch(/failed, will retry|ERROR/);
    expect(new Set(ids).size).toBe(SAGAS);
    expect(finals.every((tx) => tx.status === 'completed')).toBe(true);
    const effects = new Map<string, number>();
    for (const entry of log.filter((e) => e.effect)) {
      const key = `${entry.txId}/${entry.stepId}/${entry.phase}`;
      effects.set(key, (effects.get(key) ?? 0) + 1);
    }
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
  });

  it('exits on SIGTERM while a client keeps sending on one keep-alive connection', async () => {
    const app = await startApp('coordinator');
    const api = new CoordinatorApi(app.url);
    let sending = true;
    let answered = 0;
    // One client, one origin: fetch sends every request on the same kept-alive connection.
    const client = (async () => {
      while (sending) {
        try {
          await api.request('GET', '/transactions?limit=1');
          answered++;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20)); // refused: it is going
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const signalled = Date.now();
    await app.stop();
    const stoppedIn = Date.now() - signalled;
    sending = false;
    await client;
    expect(answered).toBeGreaterThan(0);
    expect(stoppedIn).toBeLessThan(10_000);
  });
});
