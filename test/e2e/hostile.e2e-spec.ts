import { randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Kafka, logLevel, Message, Producer } from 'kafkajs';
import { HEADERS, topicNames } from '@ordo/protocol';
import { IncomingMessage, KafkajsMessageBus } from '@ordo/platform';
import { EndWatcher } from '../../tools/bench/harness';
import {
  effectsAppliedTwice,
  moneyNotConserved,
  ordersInconsistent,
  stockNotConserved,
  addAccounts,
  addProducts,
} from '../../tools/chaos/invariants';
import { PARTICIPANTS, startWorld, World, WORLD_SCHEMA } from '../../tools/chaos/world';
import { kafkaPid, startKafka, stopKafka } from '../../tools/infra/kafka';
import { REPO_ROOT } from '../../tools/infra/paths';
import { signalPostgres, startPostgres, stopPostgres } from '../../tools/infra/postgres';
import { sleep } from '../../tools/infra/proc';
import { collect, testBus } from '../support/kafka';
import { outboxDrained } from '../support/outbox';

/**
 * The hostile-input suite: a whole deployment (one coordinator, the sample order, inventory
 * and payment services with their SQL barrier) on a PostgreSQL cluster and a Kafka broker of
 * its own, under a steady load of place-order sagas, meets one attack after another: text
 * PostgreSQL cannot store or that is not UTF-8 in every reply and command field, forged
 * replies, 1 MB
 * strings, a mapping that would build a 5 MB command, `_fault` with injection off, a
 * database restart, a database frozen for 20 s, a broker restart. After each attack a marker
 * saga must complete within MARKER_LIMIT_MS (no partition blocked); at the end no process
 * has died, every load saga has ended, nothing was applied twice or lost, and every refused
 * message is in a dead-letter topic with its reason.
 */
describe('hostile input', () => {
  const prefix = 'hostile.';
  const topics = topicNames(prefix);
  /** A blocked partition holds a saga until its 30 s deadline and beyond; a healthy one ends in well under a second. */
  const MARKER_LIMIT_MS = 10_000;
  /** The consumers' session timeout (KafkajsMessageBus). */
  const SESSION_TIMEOUT_MS = 10_000;
  /** The apps' default MAX_MESSAGE_BYTES. */
  const MAX_MESSAGE_BYTES = 512 * 1024;
  const product = { sku: 'HOSTILE-1', stock: 1_000_000 };
  const account = { id: 'hostile-1', balance: 1_000_000_000 };
  const input = (customer: string, extra: object = {}) => ({ customer, sku: product.sku, qty: 1, accountId: account.id, amount: 100, ...extra });
  const sample = JSON.parse(readFileSync(join(REPO_ROOT, 'apps/order/place-order.saga.json'), 'utf8')) as {
    name: string;
    defaults: object;
    steps: object[];
  };
  // Sized for a broker restart: a step keeps trying for a minute rather than giving up.
  const placeOrder = {
    ...sample,
    defaults: { ...sample.defaults, retry: { maxAttempts: 30, initialDelayMs: 100, multiplier: 2, maxDelayMs: 3000 } },
  };
  /** create-order, then a step whose mapping copies the 250 KB input 21 times: 5.25 MB. */
  const bigCommand = {
    name: 'hostile-big-command',
    type: 'saga',
    steps: [
      { id: 'create-order', participant: 'order', action: 'create', compensation: 'cancel' },
      {
        id: 'reserve-stock',
        participant: 'inventory',
        action: 'reserve',
        compensation: 'release',
        dependsOn: ['create-order'],
        input: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`copy${i}`, '$.input.blob'])),
      },
    ],
  };

  let world: World;
  let watcher: EndWatcher;
  let producer: Producer;
  let bus: KafkajsMessageBus;
  let dead: Awaited<ReturnType<typeof collect>>;
  const loadIds: string[] = [];
  const otherIds: string[] = [];
  const markers: { after: string; ms: number }[] = [];
  let loading = true;
  let load: Promise<void>;

  beforeAll(async () => {
    world = await startWorld({ label: 'hostile', coordinators: 1, topicPrefix: prefix, log: (line) => process.stdout.write(`[hostile] ${line}\n`) });
    await addProducts(world.db, [product]);
    await addAccounts(world.db, [account]);
    await world.client.post('/definitions', placeOrder);
    await world.client.post('/definitions', bigCommand);
    watcher = new EndWatcher(world.db, { table: `${WORLD_SCHEMA}.transactions`, pollMs: 100 });
    producer = new Kafka({ clientId: 'hostile', brokers: [world.kafkaBrokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    bus = testBus('hostile-dlq', { KAFKA_BROKERS: world.kafkaBrokers });
    dead = await collect(bus, [topics.deadLetter(topics.replies), ...PARTICIPANTS.map((p) => topics.deadLetter(topics.commands(p)))]);
    // Two sagas in flight at all times, through every attack; a start cut off by an outage is
    // retried with its idempotency key.
    load = Promise.all(
      [0, 1].map(async (lane) => {
        for (let n = 0; loading; n++) {
          const { id } = await world.client.post('/transactions', {
            definition: placeOrder.name,
            input: input(`load-${lane}-${n}`),
            idempotencyKey: `load-${lane}-${n}`,
          });
          loadIds.push(id);
          await watcher.ended(id);
        }
      }),
    ).then(() => undefined);
    await marker('start');
  }, 240_000);

  afterAll(async () => {
    loading = false;
    await dead?.close();
    await bus?.close();
    await producer?.disconnect();
    await watcher?.close();
    await world?.stop();
  }, 120_000);

  async function ended(id: string, limitMs: number): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), limitMs)));
    const end = await Promise.race([watcher.ended(id), timeout]);
    clearTimeout(timer);
    return end?.status ?? `not ended within ${limitMs} ms`;
  }

  /**
   * A place-order saga started now completes in its normal time: nothing is blocked. After a
   * broker restart the consumers join their groups again as new members, and the broker waits
   * for the old members' sessions to expire first (10 s), hence `limitMs` there.
   */
  async function marker(after: string, limitMs = MARKER_LIMIT_MS): Promise<void> {
    const started = Date.now();
    const { id } = await world.client.post('/transactions', { definition: placeOrder.name, input: input(`marker-${after}`) });
    otherIds.push(id);
    // Waits past the limit, so that a slow recovery shows how slow.
    const status = await ended(id, 120_000);
    const ms = Date.now() - started;
    markers.push({ after, ms });
    expect(status).toBe('completed');
    expect(ms).toBeLessThan(limitMs);
  }

  const alive = () => world.apps.flatMap((app) => app.exits);

  /** Sends each message alone (some are large), tagged to find its dead letter. */
  async function send(topic: string, values: { tag: string; key: string; value: Buffer }[]): Promise<void> {
    for (const { tag, key, value } of values) {
      const message: Message = { key, value, headers: { 'hostile-tag': tag } };
      await producer.send({ topic, acks: -1, messages: [message] });
    }
  }

  async function deadLetters(tags: string[], limitMs = 30_000): Promise<Map<string, IncomingMessage>> {
    const until = Date.now() + limitMs;
    const found = () => new Map(dead.received.filter((m) => tags.includes(m.headers['hostile-tag'])).map((m) => [m.headers['hostile-tag'], m]));
    while (found().size < tags.length && Date.now() < until) await sleep(100);
    return found();
  }

  /** The three ways text can be unfit: each is built into a field through `template`. */
  const BAD_TEXT = {
    surrogate: {
      value: (template: (text: string) => object) => Buffer.from(JSON.stringify(template('cut \ud83d'))),
      reason: /must not contain an unpaired UTF-16 surrogate \(U\+D83D\)$/,
    },
    nul: { value: (template: (text: string) => object) => Buffer.from(JSON.stringify(template('a\u0000b'))), reason: /must not contain U\+0000$/ },
    'invalid UTF-8': {
      value: (template: (text: string) => object) => {
        const [before, after] = JSON.stringify(template('a|HOSTILE|b')).split('|HOSTILE|');
        return Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(after)]);
      },
      reason: /^value is not valid UTF-8$/,
    },
  } as const;

  it('dead-letters bad text in every reply field and every command field, and goes on', async () => {
    const { id } = await world.client.post('/transactions', { definition: placeOrder.name, input: input('text-target') });
    otherIds.push(id);
    const reply = { txId: id, stepId: 'create-order', phase: 'execute', attempt: 1, outcome: 'failure', error: { code: 'X', message: 'm' } };
    const replyFields: Record<string, (text: string) => object> = {
      txId: (t) => ({ ...reply, txId: t }),
      stepId: (t) => ({ ...reply, stepId: t }),
      phase: (t) => ({ ...reply, phase: t }),
      outcome: (t) => ({ ...reply, outcome: t }),
      'error.code': (t) => ({ ...reply, error: { code: t, message: 'm' } }),
      'error.message': (t) => ({ ...reply, error: { code: 'X', message: t } }),
      'output key': (t) => ({ ...reply, outcome: 'success', error: undefined, output: { [t]: 1 } }),
      'output value': (t) => ({ ...reply, outcome: 'success', error: undefined, output: { orderId: t } }),
    };
    const command = (txId: string) => ({
      txId,
      stepId: 'create-order',
      type: 'saga',
      phase: 'execute',
      action: 'create',
      attempt: 1,
      input: input('text-command'),
      deadline: new Date(Date.now() + 30_000).toISOString(),
    });
    const commandFields: Record<string, (txId: string) => (text: string) => object> = {
      txId: (tx) => (t) => ({ ...command(tx), txId: t }),
      stepId: (tx) => (t) => ({ ...command(tx), stepId: t }),
      type: (tx) => (t) => ({ ...command(tx), type: t }),
      phase: (tx) => (t) => ({ ...command(tx), phase: t }),
      action: (tx) => (t) => ({ ...command(tx), action: t }),
      deadline: (tx) => (t) => ({ ...command(tx), deadline: t }),
      'input key': (tx) => (t) => ({ ...command(tx), input: { ...input('text-command'), [t]: 1 } }),
      'input value': (tx) => (t) => ({ ...command(tx), input: input(t) }),
    };
    const sent: { topic: string; tag: string; key: string; value: Buffer; reason: RegExp }[] = [];
    for (const [kind, bad] of Object.entries(BAD_TEXT)) {
      for (const [field, template] of Object.entries(replyFields)) {
        sent.push({ topic: topics.replies, tag: `reply ${field} ${kind}`, key: id, value: bad.value(template), reason: bad.reason });
      }
      for (const participant of PARTICIPANTS) {
        for (const [field, template] of Object.entries(commandFields)) {
          const txId = randomUUID();
          otherIds.push(txId);
          sent.push({
            topic: topics.commands(participant),
            tag: `${participant} command ${field} ${kind}`,
            key: txId,
            value: bad.value(template(txId)),
            reason: bad.reason,
          });
        }
      }
    }
    for (const message of sent) await send(message.topic, [message]);

    const letters = await deadLetters(sent.map((m) => m.tag));
    const wrong = sent.flatMap(({ topic, tag, value, reason }) => {
      const letter = letters.get(tag);
      if (!letter) return [`${tag}: no dead letter`];
      const problems = [];
      if (letter.topic !== topics.deadLetter(topic)) problems.push(`${tag}: in ${letter.topic}`);
      if (!reason.test(letter.headers[HEADERS.deadLetterReason] ?? '')) problems.push(`${tag}: reason ${letter.headers[HEADERS.deadLetterReason]}`);
      if (!letter.value?.equals(value)) problems.push(`${tag}: bytes changed`);
      return problems;
    });
    process.stdout.write(`[hostile] bad text: ${sent.length} messages, ${letters.size} dead letters, ${wrong.length} wrong\n`);
    expect(wrong).toEqual([]);
    expect(await ended(id, MARKER_LIMIT_MS)).toBe('completed');
    await marker('bad text');
    expect(alive()).toEqual([]);
  }, 120_000);

  it('dead-letters forged replies (no token, a made-up one) and lets them settle nothing', async () => {
    const { id } = await world.client.post('/transactions', { definition: placeOrder.name, input: input('forged-target') });
    otherIds.push(id);
    // Right txId, stepId, phase and attempt: without the token, each would fail the step at once.
    const forged = {
      txId: id,
      stepId: 'create-order',
      phase: 'execute',
      attempt: 1,
      outcome: 'failure',
      error: { code: 'FORGED', message: 'forged' },
    };
    const sent = [
      { tag: 'forged reply without a token', key: id, value: Buffer.from(JSON.stringify(forged)) },
      { tag: 'forged reply with a made-up token', key: id, value: Buffer.from(JSON.stringify({ ...forged, token: 'A'.repeat(22) })) },
    ];
    await send(topics.replies, sent);
    const letters = await deadLetters(sent.map((m) => m.tag));
    expect([...letters.values()].map((m) => m.headers[HEADERS.deadLetterReason]).sort()).toEqual([
      expect.stringMatching(/^no token: replies must echo their command's token/),
      'token does not match the command of this attempt',
    ]);
    expect(await ended(id, MARKER_LIMIT_MS)).toBe('completed');
    expect(alive()).toEqual([]);
  }, 60_000);

  it('dead-letters 1 MB strings in replies and commands, and goes on', async () => {
    const { id } = await world.client.post('/transactions', { definition: placeOrder.name, input: input('big-target') });
    otherIds.push(id);
    const mega = 'x'.repeat(1_000_000);
    const reply = { txId: id, stepId: 'create-order', phase: 'execute', attempt: 1, outcome: 'success', output: {} };
    const replies = [
      { tag: 'reply error.message 1 MB', value: { ...reply, outcome: 'failure', error: { code: 'X', message: mega } } },
      { tag: 'reply output 1 MB', value: { ...reply, output: { orderId: mega } } },
      { tag: 'reply stepId 1 MB', value: { ...reply, stepId: mega } },
    ].map((m) => ({ ...m, key: id, value: Buffer.from(JSON.stringify(m.value)) }));
    const commands = PARTICIPANTS.map((participant) => {
      const txId = randomUUID();
      otherIds.push(txId);
      const value = {
        txId,
        stepId: 'create-order',
        type: 'saga',
        phase: 'execute',
        action: 'create',
        attempt: 1,
        input: input(mega),
        deadline: new Date(Date.now() + 30_000).toISOString(),
      };
      return { participant, tag: `${participant} command input 1 MB`, key: txId, value: Buffer.from(JSON.stringify(value)) };
    });
    await send(topics.replies, replies);
    for (const c of commands) await send(topics.commands(c.participant), [c]);

    const letters = await deadLetters([...replies, ...commands].map((m) => m.tag));
    const reasons = [...letters.values()].map((m) => m.headers[HEADERS.deadLetterReason]);
    process.stdout.write(`[hostile] 1 MB strings: ${replies.length + commands.length} messages, ${letters.size} dead letters\n`);
    expect(letters.size).toBe(replies.length + commands.length);
    expect(reasons.filter((r) => !/^value is \d+ bytes, more than the 524288 allowed/.test(r))).toEqual([]);
    // The dead letter keeps what fits of the original bytes.
    expect([...letters.values()].map((m) => m.value?.length)).toEqual(Array(letters.size).fill(MAX_MESSAGE_BYTES));
    expect(await ended(id, MARKER_LIMIT_MS)).toBe('completed');
    await marker('1 MB strings');
    expect(alive()).toEqual([]);
  }, 120_000);

  it('fails a step whose command would be 5 MB, undoes what ran, and leaves nothing in the outbox', async () => {
    const { id } = await world.client.post('/transactions', { definition: bigCommand.name, input: input('five-mb', { blob: 'b'.repeat(250_000) }) });
    otherIds.push(id);
    expect(await ended(id, 30_000)).toBe('compensated');
    const { rows: events } = await world.db.query<{ type: string; step_id: string }>(
      `SELECT type, step_id FROM ${WORLD_SCHEMA}.events WHERE tx_id = $1`,
      [id],
    );
    expect(events).toContainEqual(expect.objectContaining({ type: 'step.undeliverable', step_id: 'reserve-stock' }));
    const { rows: order } = await world.db.query<{ status: string }>('SELECT status FROM orders.orders WHERE tx_id = $1', [id]);
    expect(order.map((o) => o.status)).toEqual(['cancelled']);
    await marker('5 MB command');
    expect((await world.db.query(`SELECT 1 FROM ${WORLD_SCHEMA}.outbox WHERE created_at < now() - interval '5 seconds'`)).rowCount).toBe(0);
    expect(alive()).toEqual([]);
  }, 60_000);

  it('treats _fault as data while fault injection is off', async () => {
    const _fault = { crash: 'before-commit', transient: true, latencyMs: 60_000 };
    const started = Date.now();
    const { id } = await world.client.post('/transactions', { definition: placeOrder.name, input: input('fault', { _fault }) });
    otherIds.push(id);
    expect(await ended(id, MARKER_LIMIT_MS)).toBe('completed');
    process.stdout.write(`[hostile] _fault with injection off: completed in ${Date.now() - started} ms\n`);
    await marker('_fault');
    expect(alive()).toEqual([]);
  }, 60_000);

  it('goes on after a PostgreSQL restart under load', async () => {
    await stopPostgres(world.postgres);
    await sleep(2_000);
    await startPostgres(world.postgres);
    await marker('PostgreSQL restart');
    expect(alive()).toEqual([]);
  }, 120_000);

  it('goes on after PostgreSQL is frozen (SIGSTOP) for 20 s under load', async () => {
    const processes = signalPostgres(world.postgres, 'SIGSTOP');
    try {
      await sleep(20_000);
    } finally {
      signalPostgres(world.postgres, 'SIGCONT');
    }
    process.stdout.write(`[hostile] froze ${processes} PostgreSQL processes for 20 s\n`);
    await marker('PostgreSQL frozen 20 s');
    expect(alive()).toEqual([]);
  }, 120_000);

  it('goes on after a broker restart under load', async () => {
    expect(kafkaPid(world.kafka)).toBeDefined();
    await stopKafka(world.kafka);
    await sleep(2_000);
    await startKafka(world.kafka);
    await marker('broker restart', MARKER_LIMIT_MS + SESSION_TIMEOUT_MS);
    expect(alive()).toEqual([]);
  }, 180_000);

  it('ends every saga with no effect lost or applied twice and no process dead', async () => {
    loading = false;
    await load;
    const statuses = new Map<string, string>();
    for (const id of loadIds) statuses.set(id, await ended(id, 120_000));
    const completed = new Set([...statuses].filter(([, s]) => s === 'completed').map(([id]) => id));
    const all = [...loadIds, ...otherIds];
    const { rows: txs } = await world.db.query<{ id: string; status: string }>(
      `SELECT id, status FROM ${WORLD_SCHEMA}.transactions WHERE id = ANY($1::uuid[])`,
      [all],
    );
    for (const tx of txs) if (tx.status === 'completed') completed.add(tx.id);
    process.stdout.write(
      `[hostile] ${loadIds.length} load sagas: ${JSON.stringify(Object.fromEntries([...new Set(statuses.values())].map((s) => [s, [...statuses.values()].filter((v) => v === s).length])))}; ` +
        `markers ${markers.map((m) => `${m.after} ${m.ms} ms`).join(', ')}\n`,
    );
    expect([...statuses.values()].filter((s) => s !== 'completed')).toEqual([]);
    const sagaIds = txs.map((tx) => tx.id);
    expect(await ordersInconsistent(world.db, sagaIds, completed)).toEqual([]);
    expect(await stockNotConserved(world.db, [product])).toEqual([]);
    expect(await moneyNotConserved(world.db, [account])).toEqual([]);
    expect(await effectsAppliedTwice(world.db, all)).toEqual([]);
    // None of the hostile commands ran: no order for a transaction the coordinator never started.
    const { rows: strays } = await world.db.query(`SELECT tx_id FROM orders.orders WHERE tx_id <> ALL($1::text[])`, [sagaIds]);
    expect(strays).toEqual([]);
    await outboxDrained(world.db, WORLD_SCHEMA);
    expect(alive()).toEqual([]);
  }, 240_000);
});
