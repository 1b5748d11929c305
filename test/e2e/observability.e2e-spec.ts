import { randomBytes } from 'crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { topicNames } from '@ordo/protocol';
import type { SpanLine } from '@ordo/platform';
import { REPO_ROOT } from '../../tools/infra/paths';
import { waitFor } from '../../tools/infra/proc';
import { bearer, TEST_KEYS } from '../support/auth';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { testBus } from '../support/kafka';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/** One sample of a Prometheus text exposition: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/**
 * Metrics, traces and logs of real processes: the coordinator and the sample order,
 * inventory and payment services run place-order sagas with tracing to a file; the test
 * scrapes /metrics and rebuilds the span tree of one transaction from the file.
 */
describe('observability', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const spanDir = mkdtempSync(join(tmpdir(), 'ordo-spans-'));
  const spanFile = join(spanDir, 'spans.jsonl');
  const tracing = { ORDO_TRACING: 'file', ORDO_TRACING_FILE: spanFile };
  // Failure injection on: a test keeps a compensation failing with `_fault`.
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}obs.`, KAFKA_TOPIC_PARTITIONS: '2', FAULT_INJECTION: 'on', ...tracing };
  const saga: { name: string } = JSON.parse(readFileSync(join(REPO_ROOT, 'apps/order/place-order.saga.json'), 'utf8'));
  const db = new Client({ connectionString: env.databaseUrl });
  let coordinator: RunningApp;
  let inventory: RunningApp;
  let api: CoordinatorApi;
  const sku = (name: string) => `OB-${suffix}-${name}`;
  const account = `ob-${suffix}-ada`;

  const scrape = async (app: RunningApp) => {
    // The coordinator's metrics need a key like the rest of its API: a metrics key, which reads nothing else.
    const response = await fetch(`${app.url}/metrics`, { headers: bearer('metrics') });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.text();
  };
  const sample = (samples: Sample[], name: string, labels: Record<string, string>) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  /** The coordinator's log: every line it wrote must be one JSON object. */
  const logRecords = () =>
    coordinator
      .output()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const spans = (): SpanLine[] =>
    existsSync(spanFile)
      ? readFileSync(spanFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as SpanLine)
      : [];

  beforeAll(async () => {
    await db.connect();
    // The coordinator logs at info, to check what its log lines hold.
    coordinator = await startApp('coordinator', { ...world, DATABASE_SCHEMA: 'ordo_observability', LOG_LEVEL: 'log' });
    api = new CoordinatorApi(coordinator.url);
    const participants = await Promise.all((['order', 'inventory', 'payment'] as const).map((name) => startApp(name, world)));
    inventory = participants[1];
    await api.register(saga);
    await db.query('INSERT INTO inventory.products (sku, name, stock) VALUES ($1, $1, 10), ($2, $2, 0)', [sku('beans'), sku('none')]);
    await db.query('INSERT INTO payment.accounts (id, owner, balance) VALUES ($1, $1, 100000)', [account]);
  });

  afterAll(async () => {
    await db.end();
    rmSync(spanDir, { recursive: true, force: true });
  });

  const input = (product: string) => ({ customer: 'ada', sku: sku(product), qty: 1, accountId: account, amount: 100 });

  it('counts transactions, steps and dead letters with bounded labels', async () => {
    const completed = await api.waitFor((await api.start(saga.name, input('beans'))).id, TERMINAL);
    const compensated = await api.waitFor((await api.start(saga.name, input('none'))).id, TERMINAL);
    // Out of stock, and the order service answers `retry` to every cancel: the rollback fails.
    const stuck = { ...input('none'), _fault: { transient: true, phases: ['compensate'] } };
    const failed = await api.waitFor((await api.start(saga.name, stuck)).id, TERMINAL);
    expect([completed.status, compensated.status, failed.status]).toEqual(['completed', 'compensated', 'failed']);
    // A malformed reply is dead-lettered and counted.
    const bus = testBus();
    try {
      await bus.publish([{ topic: topicNames(world.KAFKA_TOPIC_PREFIX).replies, key: 'junk', value: '{"txId": 42' }]);
    } finally {
      await bus.close();
    }
    const metrics = await waitFor(
      'the dead letter counted',
      async () => {
        const samples = parseMetrics(await scrape(coordinator));
        return sample(samples, 'ordo_dead_letters_total', { reason: 'malformed' }) === 1 ? samples : undefined;
      },
      30_000,
    );

    const tx = { definition: saga.name, type: 'saga' };
    expect(sample(metrics, 'ordo_transactions_started_total', tx)).toBe(3);
    for (const status of ['completed', 'compensated', 'failed']) {
      expect(sample(metrics, 'ordo_transactions_ended_total', { ...tx, status })).toBe(1);
    }
    const steps = (labels: Record<string, string>) => sample(metrics, 'ordo_step_duration_seconds_count', labels) ?? 0;
    expect(steps({ participant: 'order', phase: 'execute', outcome: 'success' })).toBeGreaterThanOrEqual(3);
    expect(steps({ participant: 'inventory', phase: 'execute', outcome: 'failure' })).toBe(2);
    expect(steps({ participant: 'order', phase: 'compensate', outcome: 'success' })).toBe(1);
    // place-order allows 5 attempts: 5 `retry` answers, 4 retries between them.
    expect(steps({ participant: 'order', phase: 'compensate', outcome: 'retry' })).toBe(5);
    expect(sample(metrics, 'ordo_step_retries_total', { participant: 'order', phase: 'compensate' })).toBe(4);
    expect(sample(metrics, 'ordo_circuit_state', { participant: 'inventory', state: 'closed' })).toBe(1);
    expect(sample(metrics, 'ordo_circuit_state', { participant: 'inventory', state: 'open' })).toBe(0);
    // Idle now: the outbox drains and the reply consumer catches up, and the gauges say so.
    const idle = ['ordo_outbox_backlog', 'ordo_outbox_oldest_age_seconds', 'ordo_reply_consumer_lag'];
    const settled = await waitFor(
      'the gauges at rest',
      async () => {
        const now = parseMetrics(await scrape(coordinator));
        return idle.every((name) => sample(now, name, {}) === 0) ? now : undefined;
      },
      30_000,
    );
    expect(idle.map((name) => sample(settled, name, {}))).toEqual([0, 0, 0]);
    // Never a transaction id in a label.
    const ids = [completed.id, compensated.id, failed.id];
    expect(metrics.filter((s) => Object.values(s.labels).some((v) => ids.includes(v)))).toEqual([]);

    const reserve = { participant: 'inventory', action: 'reserve', phase: 'execute' };
    // A participant counts a command once its reply is out, which may be after the coordinator applied it.
    const handled = await waitFor(
      'the refused reservations counted',
      async () => {
        const samples = parseMetrics(await scrape(inventory));
        return sample(samples, 'ordo_participant_command_duration_seconds_count', { ...reserve, outcome: 'failure' }) === 2 ? samples : undefined;
      },
      30_000,
    );
    expect(sample(handled, 'ordo_participant_command_duration_seconds_count', { ...reserve, outcome: 'success' })).toBe(1);
    expect(sample(handled, 'ordo_participant_barrier_decisions_total', { participant: 'inventory', kind: 'run' })).toBeGreaterThanOrEqual(3);
    // A refusal rolled its local transaction back, which ran again with savepoints.
    expect(sample(handled, 'ordo_participant_savepoint_reruns_total', { participant: 'inventory' })).toBeGreaterThanOrEqual(1);

    // The step and the transaction that now need an operator are logged with their ids.
    const warnings = logRecords().filter((r) => r.level === 40 && r.txId === failed.id);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ stepId: 'create-order' }),
        expect.objectContaining({ msg: expect.stringMatching(/failed/) }),
      ]),
    );
  });

  it('traces one transaction from the REST call through every command, handler and reply', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const { status, body } = await api.request<{ id: string }>(
      'POST',
      '/transactions',
      { definition: saga.name, input: input('beans') },
      {
        traceparent: `00-${traceId}-${callerSpan}-01`,
      },
    );
    expect(status).toBe(201);
    expect((await api.waitFor(body.id, TERMINAL)).status).toBe('completed');

    const stepIds = ['create-order', 'reserve-stock', 'charge', 'confirm-order'];
    // Each span is written when it ends: the last reply's span may end just after the status shows.
    const trace = await waitFor(
      'the reply spans of all steps',
      async () => {
        const found = spans().filter((s) => s.traceId === traceId);
        const replied = new Set(
          found.filter((s) => s.service === 'ordo-coordinator' && s.kind === 'CONSUMER').map((s) => s.attributes['ordo.step_id']),
        );
        return stepIds.every((id) => replied.has(id)) ? found : undefined;
      },
      30_000,
    );
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const childrenOf = (span: SpanLine) => trace.filter((s) => s.parentSpanId === span.spanId);

    const server = trace.find((s) => s.kind === 'SERVER')!;
    expect(server).toMatchObject({ service: 'ordo-coordinator', name: 'POST /api/v1/transactions', parentSpanId: callerSpan });
    const start = childrenOf(server).find((s) => s.name === 'ordo.transaction.start')!;
    expect(start.attributes['ordo.tx_id']).toBe(body.id);
    // Every command is sent under the start span, handled under its send, and applied under its handling.
    const sends = childrenOf(start).filter((s) => s.kind === 'PRODUCER');
    const handled = sends.flatMap(childrenOf);
    expect(new Set(handled.map((s) => s.attributes['ordo.step_id']))).toEqual(new Set(stepIds));
    for (const handling of handled) {
      expect(handling).toMatchObject({ kind: 'CONSUMER', attributes: { 'ordo.tx_id': body.id } });
      expect(handling.service).toMatch(/^ordo-(order|inventory|payment)$/);
      const applied = childrenOf(handling);
      expect(applied).toEqual([
        expect.objectContaining({ service: 'ordo-coordinator', kind: 'CONSUMER', name: expect.stringMatching(/^process .*ordo\.replies$/) }),
      ]);
    }
    // Nothing hangs outside the tree: every span's parent is in the trace, but the caller's.
    expect(trace.filter((s) => s.parentSpanId !== callerSpan && !byId.has(s.parentSpanId!))).toEqual([]);
  });

  it('writes JSON log lines with credentials redacted', async () => {
    await api.request('GET', '/definitions');
    const records = logRecords();
    expect(records.length).toBeGreaterThan(0);
    const requests = records.filter((r) => (r.req as { url?: string } | undefined)?.url === '/api/v1/definitions');
    expect(requests.length).toBeGreaterThan(0);
    expect((requests[0].req as { headers: Record<string, string> }).headers.authorization).toBe('[redacted]');
    expect(coordinator.output()).not.toContain(TEST_KEYS.admin);
    // No payload at info: the saga's input never reaches the log.
    expect(coordinator.output()).not.toContain(account);
  });
});
