import { ChildProcess, spawn } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import { join } from 'path';
import { Client } from 'pg';
import { Command, HEADERS, isForwardPhase, Phase, topicNames } from '@ordo/protocol';
import { REPO_ROOT } from '../../tools/infra/paths';
import { waitFor } from '../../tools/infra/proc';
import { CoordinatorApi, StepView, TERMINAL, TxView } from '../support/coordinator-api';
import { collect, json, testBus } from '../support/kafka';
import { RunningApp, startApp } from '../support/processes';
import { failure, success, TestParticipant } from '../support/test-participant';
import { testEnv } from '../support/test-env';

const SCRIPT = join(REPO_ROOT, 'examples/plain-kafkajs-participant/loyalty-participant.js');
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** The example participant as a real `node` process, on the run's database and topics. */
class ExampleProcess {
  private output = '';
  private readonly exited: Promise<number | null>;

  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(env: Record<string, string>): Promise<ExampleProcess> {
    const example = new ExampleProcess(spawn(process.execPath, [SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    // It logs this line once its consumer has joined the group, i.e. once it receives commands.
    await waitFor(
      'example participant',
      async () => (example.output.includes('consuming ') ? true : undefined),
      60_000,
      () => (example.child.exitCode !== null ? `exited with code ${example.child.exitCode}:\n${example.output}` : undefined),
    );
    return example;
  }

  get log(): string {
    return this.output;
  }

  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/**
 * examples/plain-kafkajs-participant, a participant written from docs/protocol.md without the
 * SDK, against a real coordinator: its saga step is followed by one on a scripted test
 * participant, which refuses when the transaction input says `refuseShipping`.
 */
describe('example participant (plain kafkajs)', () => {
  const suffix = randomBytes(3).toString('hex');
  const loyalty = `loyalty-${suffix}`;
  const schema = `loyalty_${suffix}`;
  const { databaseUrl, kafkaBrokers, topicPrefix } = testEnv();
  const topics = topicNames(topicPrefix);
  const commandTopic = topics.commands(loyalty);
  const flow = `loyalty-order-${suffix}`;
  const shipping = new TestParticipant({
    name: `shop-${suffix}`,
    behaviour: (command) => (isForwardPhase(command.phase) && command.input.refuseShipping ? failure('OUT_OF_STOCK') : success()),
  });
  const db = new Client({ connectionString: databaseUrl });
  const bus = testBus('e2e-example-participant');
  let messages: Awaited<ReturnType<typeof collect>>;
  let example: ExampleProcess;
  let coordinator: RunningApp;
  let api: CoordinatorApi;

  beforeAll(async () => {
    await db.connect();
    await shipping.start();
    example = await ExampleProcess.start({
      KAFKA_BROKERS: kafkaBrokers,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      KAFKA_TOPIC_PARTITIONS: '2',
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      PARTICIPANT_NAME: loyalty,
    });
    messages = await collect(bus, [commandTopic, topics.replies, topics.deadLetter(commandTopic)]);
    coordinator = await startApp('coordinator');
    api = new CoordinatorApi(coordinator.url);
    await api.register({
      name: flow,
      type: 'saga',
      defaults: { timeoutMs: 10_000, retry: { maxAttempts: 3, initialDelayMs: 50, multiplier: 2, maxDelayMs: 200 } },
      steps: [
        {
          id: 'award-points',
          participant: loyalty,
          action: 'award',
          compensation: 'revoke',
          input: { customerId: '$.input.customerId', points: '$.input.points' },
        },
        { id: 'ship', participant: shipping.name, action: 'ship', compensation: 'unship', dependsOn: ['award-points'] },
      ],
    });
  });

  afterAll(async () => {
    await example?.stop();
    await coordinator?.stop();
    await messages?.close();
    await Promise.all([shipping.stop(), bus.close(), db.end()]);
  });

  const newCustomer = () => `c-${randomBytes(4).toString('hex')}`;
  const step = (tx: TxView, id: string) => tx.steps.find((s) => s.id === id) as StepView;

  /** The customer's balance in the example's own table; null without an account. */
  const points = async (customerId: string): Promise<number | null> =>
    (await db.query(`SELECT points FROM ${schema}.loyalty_accounts WHERE customer_id = $1`, [customerId])).rows[0]?.points ?? null;

  const barrierRows = async (txId: string) =>
    (await db.query(`SELECT phase, origin, outcome FROM ${schema}.ordo_barrier WHERE tx_id = $1 ORDER BY created_at, phase`, [txId])).rows;

  /** The first command the coordinator sent the example for a transaction: its execute. */
  const commandOf = (txId: string) => messages.waitFor((m) => m.topic === commandTopic && m.key === txId);

  /** Replies of the example (step award-points) to one transaction, in arrival order. */
  const repliesTo = (txId: string, phase: Phase) =>
    messages.received.filter((m) => m.topic === topics.replies && m.key === txId && json(m).stepId === 'award-points' && json(m).phase === phase);

  const awaitReplies = (txId: string, phase: Phase, count: number) =>
    waitFor(
      `${count} ${phase} replies to ${txId}`,
      async () => (repliesTo(txId, phase).length >= count ? repliesTo(txId, phase) : undefined),
      30_000,
    );

  const sendCommand = (command: Command) =>
    bus.publish([{ topic: commandTopic, key: command.txId, value: JSON.stringify(command), headers: { [HEADERS.traceparent]: TRACEPARENT } }]);

  const commandFor = (txId: string, phase: Phase, action: string, input: Command['input']): Command => ({
    txId,
    stepId: 'award-points',
    type: 'saga',
    phase,
    action,
    attempt: 1,
    input,
    deadline: new Date(Date.now() + 30_000).toISOString(),
  });

  it('completes a saga and awards the points once, replying with key txId and the trace context', async () => {
    const customerId = newCustomer();
    const started = await api.request<TxView>(
      'POST',
      '/transactions',
      { definition: flow, input: { customerId, points: 50 } },
      { traceparent: TRACEPARENT },
    );
    const done = await api.waitFor(started.body.id, TERMINAL);
    expect(done.status).toBe('completed');
    expect(step(done, 'award-points').output).toEqual({ customerId, awarded: 50, balance: 50 });
    expect(await points(customerId)).toBe(50);
    expect(await barrierRows(done.id)).toEqual([{ phase: 'execute', origin: 'handler', outcome: 'success' }]);

    const command = await commandOf(done.id);
    const [reply] = await awaitReplies(done.id, 'execute', 1);
    expect(json(reply)).toEqual({
      txId: done.id,
      stepId: 'award-points',
      phase: 'execute',
      attempt: 1,
      outcome: 'success',
      output: step(done, 'award-points').output,
      token: expect.any(String),
    });
    expect(reply.headers[HEADERS.traceparent]).toBe(command.headers[HEADERS.traceparent]);
    expect(reply.headers[HEADERS.messageId]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a redelivered command with the stored reply and does not award twice', async () => {
    const customerId = newCustomer();
    const done = await api.waitFor((await api.start(flow, { customerId, points: 20 })).id, TERMINAL);
    expect(done.status).toBe('completed');
    const [first] = await awaitReplies(done.id, 'execute', 1);

    // The command exactly as the coordinator sent it: same key, value and headers.
    const command = await commandOf(done.id);
    await bus.publish([{ topic: commandTopic, key: command.key!, value: command.value!.toString(), headers: command.headers }]);

    const [, again] = await awaitReplies(done.id, 'execute', 2);
    expect(json(again)).toEqual(json(first));
    expect(again.headers[HEADERS.messageId]).not.toBe(first.headers[HEADERS.messageId]);
    expect(await points(customerId)).toBe(20);
    // The coordinator, long done with the step, ignores the second reply.
    await waitFor(
      'the duplicate reply ignored',
      async () => (await api.events(done.id)).find((e) => e.type === 'step.reply_ignored' && e.stepId === 'award-points'),
      30_000,
    );
  });

  it('revokes the points exactly once when a later step refuses', async () => {
    const customerId = newCustomer();
    const done = await api.waitFor((await api.start(flow, { customerId, points: 30, refuseShipping: true })).id, TERMINAL);
    expect(done.status).toBe('compensated');
    expect(step(done, 'award-points').status).toBe('compensated');
    expect(step(done, 'ship').lastError).toMatchObject({ code: 'OUT_OF_STOCK' });
    expect(await points(customerId)).toBe(0);
    expect(await barrierRows(done.id)).toEqual([
      { phase: 'execute', origin: 'handler', outcome: 'success' },
      { phase: 'compensate', origin: 'handler', outcome: 'success' },
    ]);
    const [revoked] = await awaitReplies(done.id, 'compensate', 1);
    expect(json(revoked).output).toEqual({ customerId, revoked: 30, balance: 0 });
  });

  it('refuses a blocked customer with CUSTOMER_BLOCKED, changing nothing, and the saga compensates', async () => {
    const customerId = newCustomer();
    await db.query(`INSERT INTO ${schema}.loyalty_accounts (customer_id, points, blocked) VALUES ($1, 5, true)`, [customerId]);
    const done = await api.waitFor((await api.start(flow, { customerId, points: 40 })).id, TERMINAL);
    expect(done.status).toBe('compensated');
    expect(step(done, 'award-points').lastError).toEqual({ code: 'CUSTOMER_BLOCKED', message: `customer ${customerId} is blocked` });
    expect(shipping.received(done.id)).toEqual([]);
    expect(await points(customerId)).toBe(5);
    // The refused step's compensation finds nothing to undo: a null compensation.
    expect(await barrierRows(done.id)).toEqual([
      { phase: 'execute', origin: 'handler', outcome: 'failure' },
      { phase: 'compensate', origin: 'null_compensation', outcome: 'success' },
    ]);
  });

  it('null-compensates a step it never ran and refuses its late execute (hanging request)', async () => {
    const txId = randomUUID();
    const customerId = newCustomer();
    await sendCommand(commandFor(txId, 'compensate', 'revoke', { customerId, points: 10 }));
    await sendCommand(commandFor(txId, 'execute', 'award', { customerId, points: 10 }));
    const [[compensated], [late]] = await Promise.all([awaitReplies(txId, 'compensate', 1), awaitReplies(txId, 'execute', 1)]);
    expect(json(compensated)).toEqual({ txId, stepId: 'award-points', phase: 'compensate', attempt: 1, outcome: 'success' });
    expect(json(late)).toMatchObject({ outcome: 'failure', error: { code: 'ALREADY_COMPENSATED' } });
    expect(late.headers[HEADERS.traceparent]).toBe(TRACEPARENT);
    expect(await points(customerId)).toBeNull();
  });

  it('dead-letters a malformed command with the reason, answers an unknown action, and keeps going', async () => {
    const txId = randomUUID();
    await bus.publish([{ topic: commandTopic, key: txId, value: '{"txId": 1}', headers: { 'x-origin': 'e2e' } }]);
    await sendCommand(commandFor(txId, 'execute', 'teleport', {}));

    const dead = await messages.waitFor((m) => m.topic === topics.deadLetter(commandTopic) && m.key === txId);
    expect(dead.value!.toString()).toBe('{"txId": 1}');
    expect(dead.headers['x-origin']).toBe('e2e');
    expect(dead.headers[HEADERS.deadLetterReason]).toContain('txId must be a non-empty string');
    const [unknown] = await awaitReplies(txId, 'execute', 1);
    expect(json(unknown)).toMatchObject({ outcome: 'failure', error: { code: 'UNKNOWN_ACTION' } });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await example.stop()).toBe(0);
    expect(example.log).toContain('SIGTERM: stopping');
    expect(example.log).toContain('stopped');
  });
});
