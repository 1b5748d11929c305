import { INestApplication } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { Command, HEADERS, topicNames } from '@ordo/protocol';
import { CoordinatorModule } from '../../apps/coordinator/src/coordinator.module';
import { createHttpApp, OutgoingMessage } from '@ordo/platform';
import { waitFor } from '../../tools/infra/proc';
import { APPS } from '../../tools/launcher/apps';
import { collect, json, testBus } from '../support/kafka';
import { RunningApp, runAppToExit, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * The plumbing under everything else: every app boots healthy against the real database
 * and broker; a command left in the outbox (as by an instance that died between its commit
 * and its publish) is swept to Kafka and reaches a participant, whose reply comes back on
 * the reply topic.
 */

/** Outbox rows no instance is publishing: only the sweeper can send them. */
function leaveInOutbox(dataSource: DataSource, messages: OutgoingMessage[]) {
  return dataSource.query(`INSERT INTO outbox (topic, key, payload, headers) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])`, [
    messages.map((m) => m.topic),
    messages.map((m) => m.key),
    messages.map((m) => m.value),
    messages.map((m) => JSON.stringify(m.headers ?? {})),
  ]);
}
describe('foundation', () => {
  const env = testEnv();
  const topics = topicNames(env.topicPrefix);
  const bus = testBus();
  let participants: RunningApp[] = [];
  let coordinator: INestApplication;

  beforeAll(async () => {
    participants = await Promise.all(APPS.slice(1).map((app) => startApp(app.name)));
    Object.assign(process.env, {
      PORT: '0',
      DATABASE_URL: env.databaseUrl,
      DATABASE_SCHEMA: 'ordo',
      KAFKA_BROKERS: env.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: env.topicPrefix,
      LOG_LEVEL: 'warn',
      // One left-behind row per sweep and few attempts: what an unwritable topic does to the
      // rows behind it, and its dead letter, show within seconds.
      OUTBOX_BATCH_SIZE: '1',
      OUTBOX_MAX_ATTEMPTS: '3',
    });
    coordinator = await createHttpApp(CoordinatorModule, { name: 'coordinator', description: 'e2e' }, undefined, { logger: ['error', 'warn'] });
    await coordinator.init();
  });

  afterAll(async () => {
    await coordinator?.close();
    await Promise.all(participants.map((p) => p.stop()));
    await bus.close();
  });

  it('serves health with database and Kafka up on every sample app', async () => {
    for (const app of participants) {
      const response = await fetch(`${app.url}/api/v1/health`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { details: unknown };
      expect(body.details).toEqual({ database: { status: 'up' }, kafka: { status: 'up' } });
    }
  });

  it('sweeps a command left in the outbox to a participant through Kafka and gets its reply', async () => {
    const replies = await collect(bus, [topics.replies]);
    const dataSource = coordinator.get<DataSource>(getDataSourceToken());
    const txId = `tx-${Date.now()}`;
    const command: Command = {
      txId,
      stepId: 'create-order',
      type: 'saga',
      phase: 'execute',
      action: 'no-such-action',
      attempt: 1,
      input: { sku: 'A-1' },
      deadline: new Date(Date.now() + 30_000).toISOString(),
    };
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

    await leaveInOutbox(dataSource, [
      { topic: topics.commands('order'), key: txId, value: JSON.stringify(command), headers: { [HEADERS.traceparent]: traceparent } },
    ]);

    const reply = await replies.waitFor((m) => m.key === txId);
    expect(json(reply)).toEqual({
      txId,
      stepId: 'create-order',
      phase: 'execute',
      attempt: 1,
      outcome: 'failure',
      error: { code: 'UNKNOWN_ACTION', message: 'order has no handler for no-such-action/execute' },
    });
    expect(reply.headers[HEADERS.traceparent]).toBe(traceparent);
    // Published rows leave the outbox.
    await waitFor(
      'outbox emptied',
      async () => ((await dataSource.query('SELECT 1 FROM outbox WHERE key = $1', [txId])).length === 0 ? true : undefined),
      10_000,
    );
    await replies.close();
  });

  it('keeps publishing to other topics when one topic cannot be written', async () => {
    const replies = await collect(bus, [topics.replies]);
    const dataSource = coordinator.get<DataSource>(getDataSourceToken());
    const txId = `tx-isolated-${Date.now()}`;
    const command = { txId, stepId: 's', type: 'saga', phase: 'execute', action: 'x', attempt: 1, input: {}, deadline: new Date().toISOString() };
    const missing = topics.commands('no-such-participant');
    await leaveInOutbox(dataSource, [
      { topic: missing, key: txId, value: JSON.stringify(command) },
      { topic: topics.commands('order'), key: txId, value: JSON.stringify(command) },
    ]);
    expect(json(await replies.waitFor((m) => m.key === txId))).toMatchObject({ txId, outcome: 'failure' });
    // The relay deletes what Kafka acknowledged once the failing topic's attempt is over.
    const left = await waitFor(
      'outbox',
      async () => {
        const rows: { topic: string }[] = await dataSource.query('SELECT topic FROM outbox WHERE key = $1', [txId]);
        return rows.length === 1 ? rows : undefined;
      },
      30_000,
    );
    expect(left).toEqual([{ topic: missing }]);
    await dataSource.query('DELETE FROM outbox WHERE key = $1', [txId]);
    await replies.close();
  });

  it('sweeps newer rows past one its topic refuses, and dead-letters that one once it is out of attempts', async () => {
    const replies = await collect(bus, [topics.replies]);
    const deadLetters = await collect(bus, [topics.deadLetter(`${env.topicPrefix}ordo.outbox`)]);
    const dataSource = coordinator.get<DataSource>(getDataSourceToken());
    const stuck = `tx-stuck-${Date.now()}`;
    const behind = `tx-behind-${Date.now()}`;
    const command = (txId: string) =>
      JSON.stringify({ txId, stepId: 's', type: 'saga', phase: 'execute', action: 'x', attempt: 1, input: {}, deadline: new Date().toISOString() });
    const nowhere = topics.commands('nowhere');
    const stuckCommand = command(stuck);
    await leaveInOutbox(dataSource, [{ topic: nowhere, key: stuck, value: stuckCommand }]);
    await waitFor(
      'a failed sweep',
      async () => {
        const [row]: { attempts: number }[] = await dataSource.query('SELECT attempts FROM outbox WHERE key = $1', [stuck]);
        return row?.attempts >= 1 ? true : undefined;
      },
      30_000,
    );
    // One row per sweep: the older, failing row is tried after the new one, not before it.
    await leaveInOutbox(dataSource, [{ topic: topics.commands('order'), key: behind, value: command(behind) }]);
    await replies.waitFor((m) => m.key === behind, 30_000);
    const [still]: { attempts: number; last_error: string }[] = await dataSource.query('SELECT attempts, last_error FROM outbox WHERE key = $1', [
      stuck,
    ]);
    expect(still.attempts).toBeLessThan(3);
    expect(still.last_error).toBeTruthy();
    // Out of attempts: to the outbox's dead-letter topic with its topic and the reason, and out of the outbox.
    const dead = await deadLetters.waitFor((m) => m.key === stuck, 60_000);
    expect(dead.headers[HEADERS.originalTopic]).toBe(nowhere);
    expect(dead.headers[HEADERS.deadLetterReason]).toMatch(new RegExp(`^not published to ${nowhere} after 3 attempts: `));
    expect(dead.value!.toString()).toBe(stuckCommand);
    await waitFor(
      'outbox emptied',
      async () => ((await dataSource.query('SELECT 1 FROM outbox WHERE key = $1', [stuck])).length === 0 ? true : undefined),
      10_000,
    );
    expect(await coordinator.get(Registry).getSingleMetricAsString('ordo_outbox_dead_letters_total')).toMatch(
      /^ordo_outbox_dead_letters_total [1-9]/m,
    );
    await Promise.all([replies.close(), deadLetters.close()]);
  }, 120_000);

  it('publishes concurrent callers together, in order, and fails only the caller whose topic cannot be written', async () => {
    const topic = `${env.topicPrefix}coalesce-${Date.now()}`;
    // One partition: the test reads the messages back in the order they were published.
    await testBus('e2e-coalesce', { KAFKA_TOPIC_PARTITIONS: '1' }).ensureTopics({ commands: [topic] });
    const received = await collect(bus, [topic]);
    const values = Array.from({ length: 50 }, (_, i) => `m${i}`);
    const missing = bus.publish([{ topic: `${env.topicPrefix}no-such-topic`, key: 'k', value: 'lost' }]);
    const published = values.map((value) => bus.publish([{ topic, key: 'k', value }]));
    await expect(missing).rejects.toThrow();
    await Promise.all(published);
    await received.waitFor((m) => m.value?.toString() === 'm49');
    expect(received.received.map((m) => m.value?.toString())).toEqual(values);
    await received.close();
  });

  it('dead-letters a malformed command instead of crashing the participant', async () => {
    const commandTopic = topics.commands('inventory');
    const deadLetters = await collect(bus, [topics.deadLetter(commandTopic)]);
    await bus.publish([{ topic: commandTopic, key: 'junk', value: '{"txId": 42' }]);
    const dead = await deadLetters.waitFor(() => true);
    expect(dead.headers[HEADERS.deadLetterReason]).toBe('value is not JSON');
    // Forwarded as it came: same key, same bytes.
    expect([dead.key, dead.value?.toString()]).toEqual(['junk', '{"txId": 42']);
    const inventory = participants.find((p) => p.name === 'inventory')!;
    expect((await fetch(`${inventory.url}/api/v1/health`)).status).toBe(200);
    await deadLetters.close();
  });

  it('refuses to start with a missing or malformed setting, naming it in one line', async () => {
    const { code, stderr } = await runAppToExit('coordinator', {
      DATABASE_URL: 'mysql://nope',
      KAFKA_BROKERS: env.kafkaBrokers,
      PORT: '99999',
      ORDO_API_KEYS: 'ops:root:short-secret',
    });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[coordinator\] Invalid configuration: /);
    // Every bad setting, in any order, separated by ' | '.
    expect(lines[0].split(' | ')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/PORT: PORT must not be greater than 65535/),
        'DATABASE_URL: must be a postgres:// connection URL (value hidden)',
      ]),
    );
    // Each bad API key entry is named, its secret never shown.
    expect(lines[0]).toContain(
      'ORDO_API_KEYS: entry 1 (ops): the role must be one of viewer, starter, operator, admin, metrics, participant; entry 1 (ops): the secret must be at least 16 characters',
    );
    expect(lines[0]).not.toContain('short-secret');
  });
});
