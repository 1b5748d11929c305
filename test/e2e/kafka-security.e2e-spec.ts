import { randomBytes, randomUUID } from 'crypto';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { KafkaConfig } from 'kafkajs';
import { Client } from 'pg';
import { HEADERS, topicNames } from '@ordo/protocol';
import { addAccounts, addProducts } from '../../tools/chaos/invariants';
import { KafkaOptions, kafkaAdmin, kafkaBrokers, kafkaClient, kafkaClientEnv, startKafka, stopKafka } from '../../tools/infra/kafka';
import { REPO_ROOT } from '../../tools/infra/paths';
import { CoordinatorApi } from '../support/coordinator-api';
import { collect, testBus } from '../support/kafka';
import { createAcls, deploymentTopics, ordoAcls } from '../support/kafka-acls';
import { freePort, runAppToExit, startApp, stopAllApps } from '../support/processes';
import { testEnv } from '../support/test-env';

const PARTICIPANTS = ['order', 'inventory', 'payment'] as const;
/** Fail fast: these clients are meant to be refused. */
const ONE_TRY: Partial<KafkaConfig> = { connectionTimeout: 2000, requestTimeout: 3000, retry: { retries: 0 } };

/** The error's Kafka error code, from kafkajs' wrapped errors. */
function kafkaErrorType(error: unknown): string | undefined {
  for (let e = error as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.type) return e.type;
  return undefined;
}

/**
 * A broker of its own that listens with SASL_SSL only (TLS with client certificates, SCRAM)
 * and enforces ACLs, its topics created by an admin as a platform team would: the
 * coordinator and the sample participants, each its own principal with only the grants of
 * docs/operations.md, run a saga, a TCC and a 2PC over it; the broker refuses what the
 * grants do not allow and clients without credentials; a participant's forged replies
 * (no token, a made-up one) settle nothing; bad settings refuse to start.
 */
describe('Kafka security: SASL_SSL and ACLs', () => {
  const env = testEnv();
  const prefix = `${env.topicPrefix}kafka-security.`;
  const topics = topicNames(prefix);
  const suffix = randomBytes(3).toString('hex');
  const db = new Client({ connectionString: env.databaseUrl });
  let broker: KafkaOptions;
  let api: CoordinatorApi;
  /** What every process of this world runs with, as `user`. */
  const world = (user: string) => ({ ...kafkaClientEnv(broker, user), KAFKA_TOPIC_PREFIX: prefix, KAFKA_CREATE_TOPICS: 'off' });
  const sample = (file: string) => JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8'));

  beforeAll(async () => {
    broker = {
      dir: mkdtempSync(join(tmpdir(), 'ordo-kafka-secure-')),
      port: await freePort(),
      controllerPort: await freePort(),
      heapMb: 384,
      secure: { users: ['coordinator', ...PARTICIPANTS] },
    };
    await Promise.all([startKafka(broker), db.connect()]);
    const admin = kafkaAdmin(kafkaClientEnv(broker));
    await admin.connect();
    try {
      const all = Object.values(deploymentTopics(prefix, [...PARTICIPANTS])).flat();
      await admin.createTopics({ waitForLeaders: true, topics: all.map((topic) => ({ topic, numPartitions: 2 })) });
      await createAcls(
        admin,
        ordoAcls(prefix, { coordinator: 'coordinator', participants: { order: 'order', inventory: 'inventory', payment: 'payment' } }),
      );
    } finally {
      await admin.disconnect();
    }
    // All four at once: participants ask the coordinator only about prepared transactions they hold.
    const port = String(await freePort());
    api = new CoordinatorApi(`http://127.0.0.1:${port}`);
    await Promise.all([
      startApp('coordinator', { ...world('coordinator'), DATABASE_SCHEMA: 'ordo_kafka_security', PORT: port }),
      ...PARTICIPANTS.map((name) => startApp(name, { ...world(name), ORDO_COORDINATOR_URL: api.baseUrl })),
    ]);
    for (const file of ['apps/order/place-order.saga.json', 'apps/payment/transfer.tcc.json', 'apps/inventory/buy-now.2pc.json']) {
      await api.register(sample(file));
    }
    // A broker and four apps of its own: more than the usual start, on a shared machine.
  }, 180_000);

  afterAll(async () => {
    // Before the broker goes: a stopping app commits its offsets.
    await stopAllApps();
    await db.end();
    await stopKafka(broker);
    rmSync(broker.dir, { recursive: true, force: true });
  });

  it('completes a saga, a TCC and a 2PC with every process on its own principal', async () => {
    const [sku, from, to] = [`KS-${suffix}`, `ks-${suffix}-a`, `ks-${suffix}-b`];
    await addProducts(db, [{ sku, stock: 10 }]);
    await addAccounts(db, [
      { id: from, balance: 10_000 },
      { id: to, balance: 0 },
    ]);
    const started = await Promise.all([
      api.start('place-order', { customer: 'ada', sku, qty: 1, accountId: from, amount: 1000 }),
      api.start('transfer', { from, to, amount: 500 }),
      api.start('buy-now', { orderId: randomUUID(), sku, qty: 1, accountId: from, amount: 2000 }),
    ]);
    const finished = await Promise.all(started.map((tx) => api.waitFor(tx.id, ['completed', 'compensated', 'failed'], 60_000)));
    expect(finished.map((tx) => [tx.definition.name, tx.status])).toEqual([
      ['place-order', 'completed'],
      ['transfer', 'completed'],
      ['buy-now', 'completed'],
    ]);
    const stock = await db.query('SELECT stock FROM inventory.products WHERE sku = $1', [sku]);
    expect(stock.rows[0].stock).toBe(8);
    const balance = await db.query('SELECT balance FROM payment.accounts WHERE id = $1', [to]);
    expect(Number(balance.rows[0].balance)).toBe(500);
  });

  it("refuses a participant's principal writing to another participant's command topic", async () => {
    const producer = kafkaClient(kafkaClientEnv(broker, 'order'), ONE_TRY).producer();
    await producer.connect();
    try {
      const refund = { txId: randomUUID(), stepId: 'charge', type: 'saga', phase: 'compensate', action: 'refund', attempt: 1, input: {} };
      const sent = producer.send({ topic: topics.commands('payment'), messages: [{ key: refund.txId, value: JSON.stringify(refund) }] });
      expect(kafkaErrorType(await sent.catch((error: unknown) => error))).toBe('TOPIC_AUTHORIZATION_FAILED');
    } finally {
      await producer.disconnect();
    }
  });

  it("lets no participant settle another's step: its forged replies are dead-lettered and the saga completes", async () => {
    const dlqBus = testBus('e2e-kafka-security-dlq', kafkaClientEnv(broker));
    const dead = await collect(dlqBus, [topics.deadLetter(topics.replies)]);
    const producer = kafkaClient(kafkaClientEnv(broker, 'order'), ONE_TRY).producer();
    await producer.connect();
    try {
      const sku = `KS-F-${suffix}`;
      await addProducts(db, [{ sku, stock: 5 }]);
      await addAccounts(db, [{ id: `ks-f-${suffix}`, balance: 10_000 }]);
      const { id } = await api.start('place-order', { customer: 'eve', sku, qty: 1, accountId: `ks-f-${suffix}`, amount: 100 });
      // Principal `order` may write replies, but has never seen payment's commands or their tokens.
      const forged = { txId: id, stepId: 'charge', phase: 'execute', attempt: 1, outcome: 'failure', error: { code: 'FORGED', message: 'by order' } };
      await producer.send({
        topic: topics.replies,
        messages: [
          { key: id, value: JSON.stringify(forged) },
          { key: id, value: JSON.stringify({ ...forged, token: 'A'.repeat(22) }) },
        ],
      });
      await dead.waitFor(() => dead.received.filter((m) => m.key === id).length >= 2);
      expect(
        dead.received
          .filter((m) => m.key === id)
          .map((m) => m.headers[HEADERS.deadLetterReason])
          .sort(),
      ).toEqual([expect.stringMatching(/^no token: /), 'token does not match the command of this attempt']);
      expect((await api.waitFor(id, ['completed', 'compensated', 'failed'], 60_000)).status).toBe('completed');
    } finally {
      await producer.disconnect();
      await dead.close();
      await dlqBus.close();
    }
  });

  it('refuses clients without credentials: no TLS, no SASL, a wrong password', async () => {
    const { KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE: _, ...tlsOnly } = kafkaClientEnv(broker, 'order');
    const attempts = {
      plaintext: { KAFKA_BROKERS: kafkaBrokers(broker) },
      'TLS without SASL': tlsOnly,
      'a wrong password': { ...tlsOnly, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: 'not-the-password' },
    };
    for (const [what, settings] of Object.entries(attempts)) {
      // A clean environment: this process's own Kafka settings must not fill the gaps.
      const admin = kafkaClient(settings, ONE_TRY).admin();
      const listed = admin.connect().then(() => admin.listTopics());
      await expect(listed.then(() => `${what}: connected`)).rejects.toBeInstanceOf(Error);
      await admin.disconnect();
    }
  });

  it('refuses a definition whose participant has no command topic (the platform team creates topics)', async () => {
    const definition = { name: `shipping-${suffix}`, type: 'saga', steps: [{ id: 'ship', participant: 'shipping', action: 'ship' }] };
    const { status, body } = await api.request('POST', '/definitions', definition);
    expect(status).toBe(409);
    expect(body).toMatchObject({ error: { code: 'TOPICS_MISSING', details: [{ topic: topics.commands('shipping') }] } });
  });

  it('refuses bad settings at start, naming each, and topics it may not create', async () => {
    const base = { ...world('payment'), DATABASE_URL: env.databaseUrl, DATABASE_SCHEMA: 'payment', PORT: '0' };
    const bad = await runAppToExit('payment', {
      ...base,
      KAFKA_SSL_CA_FILE: join(broker.dir, 'no-such-ca.pem'),
      KAFKA_SSL_KEY_FILE: '',
      KAFKA_SASL_PASSWORD: 'also-set',
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('KAFKA_SSL_CA_FILE: cannot read the file (ENOENT)');
    expect(bad.stderr).toContain('KAFKA_SSL_CERT_FILE: needs KAFKA_SSL_KEY_FILE too');
    expect(bad.stderr).toContain('KAFKA_SASL_PASSWORD: set either KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both');
    expect(bad.stderr).not.toContain('also-set');

    const clear = await runAppToExit('payment', {
      ...base,
      KAFKA_SSL: 'off',
      KAFKA_SSL_CA_FILE: '',
      KAFKA_SSL_CERT_FILE: '',
      KAFKA_SSL_KEY_FILE: '',
      KAFKA_SASL_MECHANISM: 'plain',
    });
    expect(clear.code).toBe(1);
    expect(clear.stderr).toContain('KAFKA_SASL_MECHANISM: plain sends the password in clear: needs KAFKA_SSL=on');

    // Valid settings, topics that do not exist: the participant names them and stops.
    const missing = await runAppToExit('payment', { ...base, KAFKA_TOPIC_PREFIX: `${prefix}nowhere.` });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`Kafka topics missing: ${prefix}nowhere.payment.commands`);
  });
});
