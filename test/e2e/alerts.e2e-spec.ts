import { randomBytes } from 'crypto';
import { createServer, IncomingHttpHeaders, Server } from 'http';
import { AddressInfo } from 'net';
import { Client } from 'pg';
import { topicNames } from '@ordo/protocol';
import { sleep, waitFor } from '../../tools/infra/proc';
import { AlertBody } from '../../apps/coordinator/src/alerts/alert';
import { SIGNATURE_HEADER, verifySignature } from '../../apps/coordinator/src/alerts/signature';
import { bearer, testActor } from '../support/auth';
import { CoordinatorApi } from '../support/coordinator-api';
import { testBus } from '../support/kafka';
import { RunningApp, startApp } from '../support/processes';
import { Behaviour, failCompensationFirst, failForward, RETRY, script, SILENT, TestParticipant, when } from '../support/test-participant';
import { testEnv } from '../support/test-env';

/** What the receiver got: the raw body (what the signature covers) and its headers. */
interface Received {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: AlertBody;
}

/**
 * Alerts end to end: a real coordinator (its own schema and topics, so no other file's
 * transactions get stuck in its view), scripted participants over Kafka, and a webhook
 * receiver in the test that checks every signature.
 */
describe('alerts to webhooks', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const topicPrefix = `${env.topicPrefix}alerts.`;
  const shop = `shop-${suffix}`;
  const bank = `bank-${suffix}`;
  const secret = `whsec-${randomBytes(12).toString('hex')}`;
  const cases: Record<string, Behaviour> = {};
  const byCase: Behaviour = (command, ctx) => (cases[command.input.case as string] ?? script())(command, ctx);
  const participants = [shop, bank].map((name) => new TestParticipant({ name, topicPrefix, behaviour: byCase }));
  const bus = testBus('e2e-alerts');
  const received: Received[] = [];
  /** Kinds of alerts whose first delivery the receiver answers with 500. */
  const refuseFirst = new Set<string>(['failed']);
  const db = new Client({ connectionString: env.databaseUrl });
  let receiver: Server;
  let receiverUrl: string;
  let limitedUrl: string;
  let opsUrl: string;
  let coordinator: RunningApp;
  let admin: CoordinatorApi;
  let webhookId: string;

  const definition = {
    name: `alerting-${suffix}`,
    type: 'saga',
    defaults: { timeoutMs: 1000, retry: { maxAttempts: 2, initialDelayMs: 50, multiplier: 2, maxDelayMs: 100 } },
    steps: [
      { id: 'create', participant: shop, action: 'create', compensation: 'cancel' },
      // A long timeout: a silent participant leaves the transaction running without progress.
      { id: 'charge', participant: shop, action: 'charge', compensation: 'refund', dependsOn: ['create'], timeoutMs: 120_000 },
    ],
  };
  // One step on bank, retried often enough to open its circuit.
  const flaky = {
    name: `flaky-${suffix}`,
    type: 'saga',
    defaults: { timeoutMs: 1000, retry: { maxAttempts: 6, initialDelayMs: 20, multiplier: 1, maxDelayMs: 20 } },
    steps: [{ id: 'pay', participant: bank, action: 'pay', compensation: 'refund' }],
  };
  const start = async (name: string, behaviour: Behaviour, definitionName = definition.name) => {
    cases[name] = behaviour;
    return admin.start(definitionName, { case: name });
  };
  const alertsOf = (kind: string, txId?: string, path = '/hooks/ordo') =>
    received.filter((r) => r.path === path && r.body.kind === kind && (!txId || r.body.transactionId === txId));
  const waitUntil = async (what: string, done: () => boolean, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > until) throw new Error(`not ${what} after ${timeoutMs} ms`);
      await sleep(50);
    }
  };
  const waitForAlerts = async (count: number, kind: string, txId?: string) => {
    await waitUntil(`${count} ${kind} alerts`, () => alertsOf(kind, txId).length >= count);
    return alertsOf(kind, txId);
  };
  const signedBySecret = (r: Received) => verifySignature(String(r.headers[SIGNATURE_HEADER]), secret, r.raw, Math.floor(Date.now() / 1000));

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk) => (raw += chunk));
      request.on('end', () => {
        const body = JSON.parse(raw) as AlertBody;
        received.push({ at: Date.now(), path: request.url!, headers: request.headers, raw, body });
        const refuse = refuseFirst.delete(body.kind);
        response.writeHead(refuse ? 500 : 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    receiverUrl = `${base}/hooks/ordo`;
    limitedUrl = `${base}/hooks/limited`;
    opsUrl = `${base}/hooks/ops`;
    await db.connect();
    await Promise.all(participants.map((p) => p.start()));
    coordinator = await startApp('coordinator', {
      KAFKA_TOPIC_PREFIX: topicPrefix,
      DATABASE_SCHEMA: 'ordo_alerts',
      ORDO_PUBLIC_URL: 'https://ordo.example.com',
      ALERT_STUCK_AFTER_S: '2',
      ALERT_STUCK_SCAN_MS: '500',
      ALERT_POLL_MS: '100',
      ALERT_RETRY_INITIAL_MS: '300',
      // A circuit opens after four unhealthy outcomes in a row, and not before.
      BREAKER_WINDOW: '4',
      BREAKER_MIN_CALLS: '4',
      BREAKER_FAILURE_RATIO: '1',
      BREAKER_OPEN_MS: '500',
    });
    admin = new CoordinatorApi(coordinator.url);
    await admin.register(definition);
    await admin.register(flaky);
  });

  afterAll(async () => {
    await coordinator?.stop();
    await Promise.all(participants.map((p) => p.stop()));
    await bus.close();
    await db.end();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('lets only admins manage webhooks, and validates them', async () => {
    const body = { url: receiverUrl, secret, kinds: ['failed'] };
    for (const role of ['operator', 'viewer'] as const) {
      const api = new CoordinatorApi(coordinator.url, role);
      expect((await api.request('POST', '/alerts/webhooks', body)).status).toBe(403);
      expect((await api.request('GET', '/alerts/webhooks')).status).toBe(403);
      expect((await api.request('DELETE', '/alerts/webhooks/6f1c2d3e-0000-4000-8000-000000000001')).status).toBe(403);
      expect((await api.request('POST', '/alerts/webhooks/6f1c2d3e-0000-4000-8000-000000000001/test')).status).toBe(403);
    }
    for (const bad of [
      { ...body, url: 'ftp://example.com/x' },
      { ...body, url: 'not a url' },
      { ...body, secret: 'short' },
      { ...body, kinds: ['failed', 'everything'] },
      { ...body, kinds: [] },
      { ...body, perMinute: 0 },
    ]) {
      const { status, body: error } = await admin.request<{ error: { code: string } }>('POST', '/alerts/webhooks', bad);
      expect({ status, code: error.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('adds a webhook, never shows its secret, audits it, and signs the sample the test action sends', async () => {
    const created = await admin.request<{ id: string }>('POST', '/alerts/webhooks', { url: receiverUrl, secret, kinds: ['failed', 'stuck'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      url: receiverUrl,
      kinds: ['failed', 'stuck'],
      perMinute: 30,
      createdBy: testActor('admin'),
      createdAt: expect.any(String),
    });
    webhookId = created.body.id;
    const listed = await admin.request<{ items: object[] }>('GET', '/alerts/webhooks');
    expect(listed.body.items).toEqual([created.body]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    const tested = await admin.request('POST', `/alerts/webhooks/${webhookId}/test`);
    expect(tested).toEqual({ status: 200, body: { delivered: true, status: 204, error: null } });
    const [sample] = alertsOf('test');
    expect(sample.headers[SIGNATURE_HEADER]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(signedBySecret(sample)).toBe(true);
    expect(sample.body).toMatchObject({ kind: 'test', link: 'https://ordo.example.com/#/overview' });

    const { rows } = await db.query(`SELECT type, actor, data FROM ordo_alerts.audit_log WHERE data ->> 'webhookId' = $1 ORDER BY id`, [webhookId]);
    expect(rows.map((r) => [r.type, r.actor])).toEqual([
      ['alerts.webhook_created', testActor('admin')],
      ['alerts.webhook_tested', testActor('admin')],
    ]);
    expect(rows[0].data).toEqual({ webhookId, origin: new URL(receiverUrl).origin, kinds: ['failed', 'stuck'], perMinute: 30 });
  });

  it('sends a signed alert for a failed transaction, again after the receiver answered 500', async () => {
    const tx = await start('failing', script(failForward('charge', 'DECLINED'), failCompensationFirst('create', 5)));
    expect((await admin.waitFor(tx.id, ['failed'])).status).toBe('failed');

    const [refused, delivered] = await waitForAlerts(2, 'failed', tx.id);
    expect(refused.raw).toBe(delivered.raw);
    expect(delivered.at - refused.at).toBeGreaterThanOrEqual(150); // the backoff (300 ms ± 50 %)
    for (const r of [refused, delivered]) expect(signedBySecret(r)).toBe(true);
    expect(delivered.body).toEqual({
      id: expect.any(String),
      kind: 'failed',
      at: expect.any(String),
      transactionId: tx.id,
      participant: null,
      definition: definition.name,
      summary: expect.stringMatching(new RegExp(`^Transaction ${tx.id} of ${definition.name} v1 failed: step create \\(compensate\\)`)),
      link: `https://ordo.example.com/#/transactions/${tx.id}`,
      details: {
        definitionVersion: 1,
        type: 'saga',
        steps: [
          {
            id: 'create',
            participant: shop,
            status: 'compensation_failed',
            phase: 'compensate',
            error: expect.objectContaining({ code: expect.any(String) }),
          },
        ],
      },
    });
    // The receiver saw the request before the dispatcher read its answer and recorded it.
    const row = await waitFor(
      'the delivery recorded as sent',
      async () => {
        const { rows } = await db.query(`SELECT state, attempts FROM ordo_alerts.alert_deliveries WHERE alert_id = $1`, [delivered.body.id]);
        return rows[0]?.state === 'pending' ? undefined : rows;
      },
      5_000,
    );
    expect(row).toEqual([{ state: 'sent', attempts: 2 }]);
  });

  it('sends one alert for a transaction stuck past ALERT_STUCK_AFTER_S, and no second', async () => {
    const tx = await start('stuck', script(when({ stepId: 'charge', phase: 'execute' }, SILENT)));
    const [stuck] = await waitForAlerts(1, 'stuck', tx.id);
    expect(signedBySecret(stuck)).toBe(true);
    expect(stuck.body).toMatchObject({
      kind: 'stuck',
      transactionId: tx.id,
      definition: definition.name,
      details: { status: 'running', definitionVersion: 1, type: 'saga', lastProgressAt: expect.any(String) },
      link: `https://ordo.example.com/#/transactions/${tx.id}`,
    });
    // Several more scans find it still stuck.
    await sleep(2000);
    expect(alertsOf('stuck', tx.id)).toHaveLength(1);
    expect((await admin.get(tx.id)).status).toBe('running');
  });

  it('removes a webhook', async () => {
    expect((await admin.request('DELETE', `/alerts/webhooks/${webhookId}`)).status).toBe(204);
    expect((await admin.request('DELETE', `/alerts/webhooks/${webhookId}`)).status).toBe(404);
    expect((await admin.request('POST', `/alerts/webhooks/${webhookId}/test`)).status).toBe(404);
    expect((await admin.request<{ items: object[] }>('GET', '/alerts/webhooks')).body.items).toEqual([]);
  });

  it("folds alerts past a webhook's rate limit into one signed summary the next minute", async () => {
    const limited = await admin.request<{ id: string }>('POST', '/alerts/webhooks', { url: limitedUrl, secret, kinds: ['stuck'], perMinute: 1 });
    expect(limited.status).toBe(201);
    const txs = await Promise.all([1, 2, 3].map((n) => start(`stuck-${n}`, script(when({ stepId: 'charge', phase: 'execute' }, SILENT)))));
    const ours = (r: Received) => txs.some((tx) => tx.id === r.body.transactionId);
    const individual = () => alertsOf('stuck', undefined, '/hooks/limited').filter(ours);
    const summaries = () => alertsOf('summary', undefined, '/hooks/limited');
    const summarized = () => summaries().reduce((n, r) => n + ((r.body.details.counts as { stuck?: number }).stuck ?? 0), 0);
    // One a minute goes out as it is; the others wait in a summary at the start of the next minute.
    await waitUntil('3 stuck alerts sent or summarized', () => individual().length + summarized() === 3, 75_000);
    expect(summaries().length).toBeGreaterThanOrEqual(1);
    const [summary] = summaries();
    expect(signedBySecret(summary)).toBe(true);
    expect(summary.body).toMatchObject({ kind: 'summary', summary: expect.stringMatching(/^\d+ more alerts past the rate limit: \d+ stuck$/) });
    for (const example of summary.body.details.examples as { transactionId: string }[])
      expect(txs.map((tx) => tx.id)).toContain(example.transactionId);

    const metrics = await fetch(`${coordinator.url}/metrics`, { headers: bearer('metrics') }).then((r) => r.text());
    expect(metrics).toMatch(/^ordo_alerts_dropped_total\{kind="stuck"\} [1-9]/m);
    expect(metrics).toMatch(/^ordo_alerts_sent_total\{kind="summary"\} [1-9]/m);
    expect(metrics).toMatch(/^ordo_transactions_stuck_total [1-9]/m);
  }, 90_000);

  it('sends circuit_open and dead_letter alerts to a webhook that wants them', async () => {
    const ops = await admin.request<{ id: string }>('POST', '/alerts/webhooks', { url: opsUrl, secret, kinds: ['circuit_open', 'dead_letter'] });
    expect(ops.status).toBe(201);

    await start('flaky', script(when({ stepId: 'pay', phase: 'execute' }, RETRY)), flaky.name);
    await waitUntil('a circuit_open alert', () => alertsOf('circuit_open', undefined, '/hooks/ops').length > 0);
    const [circuit] = alertsOf('circuit_open', undefined, '/hooks/ops');
    expect(signedBySecret(circuit)).toBe(true);
    expect(circuit.body).toMatchObject({
      kind: 'circuit_open',
      participant: bank,
      transactionId: null,
      details: { openMs: 500, failureRatio: 1 },
      summary: `Circuit of ${bank} opened for 500 ms (failure ratio 1)`,
    });

    await bus.publish([{ topic: topicNames(topicPrefix).replies, key: 'junk', value: '{"txId": 42' }]);
    await waitUntil('a dead_letter alert', () => alertsOf('dead_letter', undefined, '/hooks/ops').length > 0);
    const [dead] = alertsOf('dead_letter', undefined, '/hooks/ops');
    expect(signedBySecret(dead)).toBe(true);
    expect(dead.body).toMatchObject({ kind: 'dead_letter', details: { reason: 'malformed', count: 1 }, link: 'https://ordo.example.com/#/overview' });
    // Webhooks that did not ask for these kinds got none.
    expect(received.filter((r) => r.path !== '/hooks/ops' && ['circuit_open', 'dead_letter'].includes(r.body.kind))).toEqual([]);
  });
});
