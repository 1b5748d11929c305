import { randomBytes, randomUUID } from 'crypto';
import { IHeaders, Kafka, logLevel, Message, Producer } from 'kafkajs';
import { HEADERS, topicNames } from '@ordo/protocol';
import { bearer } from '../support/auth';
import { CoordinatorApi } from '../support/coordinator-api';
import { collect, testBus } from '../support/kafka';
import { seeded, waitAllTerminal } from '../support/load';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * Bad input never crashes a process: a real coordinator and a real participant (order)
 * receive 1,000 random or malformed messages each, and the coordinator 500 malformed REST
 * bodies, while 50 valid sagas run. No 5xx, both processes alive, every refused message in
 * its dead-letter topic with the reason, every saga completed. Seeded: every run sends
 * the same input.
 *
 * Its own world: topic prefix and coordinator schema are this file's (the order
 * participant's schema is the run's; orders are keyed by their transaction id).
 */
describe('fuzz', () => {
  const env = testEnv();
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}fuzz.`, KAFKA_TOPIC_PARTITIONS: '4' };
  const topics = topicNames(world.KAFKA_TOPIC_PREFIX);
  const MESSAGES = 1000;
  const BODIES = 500;
  const SAGAS = 50;
  /** The apps' default MAX_MESSAGE_BYTES. */
  const MAX_MESSAGE_BYTES = 512 * 1024;
  const saga = {
    name: 'fuzz-order',
    type: 'saga',
    defaults: { timeoutMs: 5000, retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 500 } },
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
  const input = (n: number) => ({ customer: `fuzz-${n}`, sku: 'FUZZ-1', qty: 1, amount: 100, accountId: 'acc-fuzz' });

  let coordinator: RunningApp;
  let order: RunningApp;
  let api: CoordinatorApi;
  let producer: Producer;

  beforeAll(async () => {
    coordinator = await startApp('coordinator', { ...world, DATABASE_SCHEMA: 'ordo_fuzz' });
    order = await startApp('order', world);
    api = new CoordinatorApi(coordinator.url);
    await api.register(saga);
    producer = new Kafka({ clientId: 'e2e-fuzz', brokers: env.kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  // ---- generators ----

  const random = seeded(20261201);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + int(0x2000))).join('');
  const nested = (depth: number): string => {
    let value = '1';
    for (let i = 0; i < depth; i++) value = int(2) ? `[${value}]` : `{"a":${value}}`;
    return value;
  };
  const scalar = () => pick([null, true, false, 0, -1, 1.5, 1e308, '', 'x', text(20), [], {}]);

  const command = (over: Record<string, unknown> = {}) => ({
    txId: randomUUID(),
    stepId: 'create-order',
    type: 'saga',
    phase: 'execute',
    action: 'create',
    attempt: 1,
    input: input(0),
    deadline: new Date(Date.now() + 5000).toISOString(),
    ...over,
  });
  const reply = (over: Record<string, unknown> = {}) => ({
    txId: randomUUID(),
    stepId: 'create-order',
    phase: 'execute',
    attempt: 1,
    outcome: 'success',
    output: { orderId: randomUUID() },
    ...over,
  });

  /** A value no consumer may accept: each kind is malformed in a different way. */
  function malformed(valid: () => Record<string, unknown>): Buffer | null {
    const base = valid();
    const fields = Object.keys(base);
    const json = (value: unknown) => Buffer.from(JSON.stringify(value));
    switch (int(12)) {
      case 0:
        return bytes(1 + int(2000)); // binary garbage
      case 1:
        return Buffer.concat([Buffer.from([0]), bytes(int(500))]); // what Nest takes for a schema-registry payload
      case 2:
        return null; // a tombstone
      case 3:
        return json(base).subarray(0, 1 + int(json(base).length - 2)); // truncated JSON
      case 4:
        return json(pick([[base], 42, 'a string', null, true, { pattern: 'x', data: base }, {}])); // JSON of the wrong shape
      case 5:
        return json({ ...base, [pick(fields)]: pick([[], null, true, -1.5]) }); // a type wrong for every field
      case 6:
        return json({ ...base, phase: pick(['explode', 'EXECUTE', 'commit ', '', 7]) }); // an unknown phase
      case 7:
        return json({ ...base, attempt: pick([0, -1, 1.5, '1', 1e400, null]) }); // a bad attempt
      case 8:
        return Buffer.from(JSON.stringify(base).replace(/}$/, `,"deep":${nested(100 + int(3000))}}`)); // nested too deep
      case 9:
        return json({ ...base, note: `a\u0000${text(10)}` }); // U+0000
      case 10: // oversized, now and then (they are large)
        return int(4) === 0 ? json({ ...base, blob: 'x'.repeat(MAX_MESSAGE_BYTES + int(100_000)) }) : bytes(100);
      default: {
        const without = { ...base };
        delete without[pick(fields)];
        return json(without); // a required field missing
      }
    }
  }

  function headers(n: number): IHeaders {
    const extra: IHeaders = {};
    if (int(3) === 0) extra[text(5)] = bytes(int(50));
    if (int(5) === 0) extra.traceparent = pick(['garbage', '{"a":1}', '00-zz-zz-01']);
    if (int(10) === 0) extra.kafka_correlationId = 'x'; // a Nest request/response header
    return { ...extra, 'fuzz-id': String(n) };
  }

  /** Sends each value alone when large, in small batches otherwise (a batch must fit the broker's limit). */
  async function send(topic: string, values: (Buffer | null)[]): Promise<void> {
    const messages: Message[] = values.map((value, n) => ({
      key: pick([null, randomUUID(), text(8), bytes(16)]),
      value,
      headers: headers(n),
    }));
    let batch: Message[] = [];
    const flush = async () => {
      if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
      batch = [];
    };
    for (const message of messages) {
      if ((message.value?.length ?? 0) > 64 * 1024) await producer.send({ topic, acks: -1, messages: [message] });
      else batch.push(message);
      if (batch.length >= 20) await flush();
    }
    await flush();
  }

  /** 500 requests that must all be refused with a 4xx in the error shape. */
  function badRequests(): { kind: number; path: string; init: RequestInit }[] {
    const tx = randomUUID();
    const paths = ['/definitions', '/transactions', '/transactions/retry', `/transactions/${tx}/abort`, `/transactions/${tx}/steps/s/resolve`];
    const auth = bearer('admin');
    const asJson = (body: string | Buffer) => ({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    const definition = () => JSON.parse(JSON.stringify(saga)) as typeof saga & Record<string, unknown>;
    const start = (over: Record<string, unknown>) => JSON.stringify({ definition: saga.name, input: input(0), ...over });
    const kinds: (() => { path: string; init: RequestInit })[] = [
      () => ({ path: pick(paths), init: asJson(bytes(1 + int(3000))) }),
      () => ({ path: pick(paths), init: asJson(Buffer.from(JSON.stringify(reply()).slice(0, 20))) }),
      () => ({
        path: pick(paths),
        init: {
          method: 'POST',
          headers: {
            ...auth,
            'content-type': pick(['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data; boundary=x']),
          },
          body: 'a=1&b=2',
        },
      }),
      () => ({
        path: pick(paths),
        init: {
          method: 'POST',
          headers: { ...auth, 'content-type': `application/json; charset=${pick(['utf-7', 'nope', 'latin1'])}` },
          body: '{"unknown":1}',
        },
      }),
      () => ({
        path: pick(paths),
        init: {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json', 'content-encoding': pick(['gzip', 'br', 'zstd-nope']) },
          body: bytes(200),
        },
      }),
      () => ({ path: pick(paths.slice(0, 2)), init: asJson(nested(65 + int(20_000))) }),
      () => ({ path: pick(paths), init: asJson(JSON.stringify({ blob: 'x'.repeat(1024 * 1024 + int(100_000)) })) }),
      () => ({ path: pick(paths.slice(0, 2)), init: asJson(JSON.stringify(pick([[], 42, 'text', null, true]))) }),
      () => ({
        path: '/definitions',
        init: asJson(
          JSON.stringify({ ...definition(), [pick(['name', 'type', 'steps', 'defaults', 'timeoutMs'])]: pick([[], -1, 1e308, true, null]) }),
        ),
      }),
      () => ({ path: '/definitions', init: asJson(JSON.stringify({ ...definition(), [text(6)]: scalar() })) }),
      () => ({
        path: '/definitions',
        init: asJson(
          JSON.stringify({
            ...definition(),
            steps: Array.from({ length: 101 }, (_, i) => ({ id: `s${i}`, participant: 'order', action: 'create', compensation: 'cancel' })),
          }),
        ),
      }),
      () => ({
        path: '/definitions',
        init: asJson(JSON.stringify({ ...definition(), steps: [{ ...saga.steps[0], dependsOn: ['confirm-order'] }, saga.steps[1]] })),
      }),
      () => ({ path: '/definitions', init: asJson(JSON.stringify({ ...definition(), steps: [{ ...saga.steps[0], input: { note: 'a\u0000' } }] })) }),
      () => ({ path: '/transactions', init: asJson(start({ input: pick([[], 'x', 42, null]) })) }),
      () => ({ path: '/transactions', init: asJson(start({ input: { blob: 'x'.repeat(256 * 1024 + int(10_000)) } })) }),
      () => ({ path: '/transactions', init: asJson(start({ input: { note: `a\u0000${text(5)}` } })) }),
      () => ({ path: '/transactions', init: asJson(start({ definition: pick(['no-such-definition', 'UPPER', '', 42]) })) }),
      () => ({ path: '/transactions', init: asJson(start({ version: pick([0, -1, 'x', 1.5, 1e9]) })) }),
      () => ({ path: '/transactions', init: asJson(start({ idempotencyKey: pick(['', 'k'.repeat(201), 42, 'a\u0000b']) })) }),
      () => ({ path: '/transactions', init: asJson(start({ [text(6)]: scalar() })) }),
      () => ({
        path: `/transactions/${tx}/steps/s/resolve`,
        init: asJson(JSON.stringify({ outcome: pick(['maybe', 42, null]), note: pick(['', 'n\u0000', 7]) })),
      }),
      () => ({ path: `/transactions/${tx}/abort`, init: asJson(JSON.stringify({ reason: pick(['r\u0000', 42, 'r'.repeat(1001)]) })) }),
    ];
    return Array.from({ length: BODIES }, () => {
      const kind = int(kinds.length);
      return { kind, ...kinds[kind]() };
    });
  }

  // ---- the run ----

  it(`survives ${MESSAGES} bad replies, ${MESSAGES} bad commands and ${BODIES} bad bodies while ${SAGAS} sagas complete`, async () => {
    const bus = testBus('e2e-fuzz-dlq');
    const replyDlq = topics.deadLetter(topics.replies);
    const commandDlq = topics.deadLetter(topics.commands('order'));
    const dead = await collect(bus, [replyDlq, commandDlq]);
    try {
      const replies = Array.from({ length: MESSAGES }, () => malformed(reply));
      const commands = Array.from({ length: MESSAGES }, () => malformed(command));
      const requests = badRequests();

      const statuses = new Map<number, number>();
      /** Anything but a 4xx in the error shape. */
      const unexpected: string[] = [];
      // Each saga also gets hostile replies of its own, which must be dead-lettered although
      // their transaction exists: a well-formed failure without its command's token (forged),
      // and two malformed ones. None may hold its batch up.
      const sagas = (async () => {
        for (let n = 0; n < SAGAS; n++) {
          const { id } = await api.start(saga.name, input(n));
          const attempt = 1000 + n;
          await producer.send({
            topic: topics.replies,
            acks: -1,
            messages: [
              {
                key: id,
                value: JSON.stringify(reply({ txId: id, attempt, outcome: 'failure', error: { code: 'FUZZ', message: 'forged' } })),
                headers: { 'fuzz-known': `forged-${n}` },
              },
              { key: id, value: JSON.stringify(reply({ txId: id, attempt, output: { note: 'a\u0000b' } })), headers: { 'fuzz-known': `nul-${n}` } },
              {
                key: id,
                value: JSON.stringify(reply({ txId: id, attempt })).replace(/}$/, `,"deep":${nested(100)}}`),
                headers: { 'fuzz-known': `deep-${n}` },
              },
            ],
          });
        }
        return waitAllTerminal(api, saga.name, SAGAS, 60_000);
      })();
      const rest = (async () => {
        for (const { kind, path, init } of requests) {
          const response = await fetch(`${coordinator.url}/api/v1${path}`, init);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const body = await response.text();
          if (response.status < 400 || !/^\{"error":\{"code":"[A-Z_]+","message":/.test(body)) {
            unexpected.push(`kind ${kind} ${path}: ${response.status} ${body.slice(0, 200)}`);
          }
        }
      })();
      // Well-formed commands with hostile headers are answered (UNKNOWN_ACTION), not refused;
      // the coordinator, which started none of them, dead-letters the replies.
      const answerable = Array.from({ length: 20 }, (_, n) => command({ action: 'no-such-action', attempt: 1 + n }));
      const answered = producer.send({
        topic: topics.commands('order'),
        acks: -1,
        messages: answerable.map((c) => ({
          key: c.txId,
          value: JSON.stringify(c),
          headers: { traceparent: pick(['garbage', '{"a":1}', '00-zz-zz-01']), 'fuzz-answerable': '1' },
        })),
      });
      await Promise.all([send(topics.replies, replies), send(topics.commands('order'), commands), rest, answered]);
      const finals = await sagas;

      // Every malformed message reaches its dead-letter topic, carrying its fuzz id and a reason.
      const fuzzIds = (topic: string) => {
        const letters = dead.received.filter((m) => m.topic === topic && m.headers['fuzz-id'] !== undefined);
        return { ids: new Set(letters.map((m) => m.headers['fuzz-id'])), letters };
      };
      const until = Date.now() + 30_000;
      const known = () => dead.received.filter((m) => m.headers['fuzz-known'] !== undefined);
      const unanswered = () => answerable.filter((c) => !dead.received.some((m) => m.topic === replyDlq && m.key === c.txId));
      while (
        (fuzzIds(replyDlq).ids.size < MESSAGES || fuzzIds(commandDlq).ids.size < MESSAGES || known().length < 3 * SAGAS || unanswered().length > 0) &&
        Date.now() < until
      ) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const [replyLetters, commandLetters] = [fuzzIds(replyDlq), fuzzIds(commandDlq)];
      // A dead letter keeps the bytes received (an oversized value cut to the limit).
      const altered = (letters: typeof replyLetters.letters, sent: (Buffer | null)[]) =>
        letters.filter((m) => {
          const original = sent[Number(m.headers['fuzz-id'])] ?? Buffer.alloc(0);
          return !(m.value ?? Buffer.alloc(0)).equals(original.subarray(0, MAX_MESSAGE_BYTES));
        });
      const reasons = [...replyLetters.letters, ...commandLetters.letters].map((m) => m.headers[HEADERS.deadLetterReason]);
      const knownLetters = known().map((m) => `${m.headers['fuzz-known'].split('-')[0]}: ${m.headers[HEADERS.deadLetterReason]}`);
      process.stdout.write(
        `fuzz: ${MESSAGES} replies → ${replyLetters.ids.size} dead letters, ${MESSAGES} commands → ${commandLetters.ids.size} dead letters, ` +
          `${3 * SAGAS} replies to live sagas → ${knownLetters.length} dead letters, ${answerable.length - unanswered().length}/${answerable.length} odd commands answered, ` +
          `${BODIES} bodies → ${JSON.stringify(Object.fromEntries(statuses))}, ${finals.length} sagas ${[...new Set(finals.map((tx) => tx.status))].join('/')}\n`,
      );

      expect([...statuses.keys()].filter((status) => status >= 500)).toEqual([]);
      expect(unexpected).toEqual([]);
      expect(replyLetters.ids.size).toBe(MESSAGES);
      expect(commandLetters.ids.size).toBe(MESSAGES);
      expect(reasons.filter((reason) => !reason)).toEqual([]);
      expect(altered(replyLetters.letters, replies)).toEqual([]);
      expect(altered(commandLetters.letters, commands)).toEqual([]);
      expect(reasons.some((reason) => /more than the 524288 allowed \(dead letter cut to 524288 bytes\)/.test(reason))).toBe(true);
      expect(finals.map((tx) => tx.status)).toEqual(Array(SAGAS).fill('completed'));
      expect(knownLetters.filter((l) => /^nul: output\.note must not contain U\+0000$/.test(l))).toHaveLength(SAGAS);
      expect(knownLetters.filter((l) => /^deep: deep\S* nested deeper than 64 levels$/.test(l))).toHaveLength(SAGAS);
      expect(knownLetters.filter((l) => /^forged: no token: /.test(l))).toHaveLength(SAGAS);
      expect(knownLetters).toHaveLength(3 * SAGAS);
      expect(unanswered()).toEqual([]);
      expect(dead.received.filter((m) => m.headers['fuzz-answerable'] !== undefined)).toEqual([]);
      expect(coordinator.process.exitCode).toBeNull();
      expect(order.process.exitCode).toBeNull();
    } finally {
      await dead.close();
      await bus.close();
    }
  });

  it('answers each limit with its status and code', async () => {
    const post = async (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
      const response = await fetch(`${coordinator.url}/api/v1${path}`, { method: 'POST', headers: { ...bearer('admin'), ...headers }, body });
      return [response.status, ((await response.json()) as { error?: { code: string } }).error?.code];
    };
    const start = (over: object) => JSON.stringify({ definition: saga.name, input: input(0), ...over });
    expect(await post('/transactions', JSON.stringify({ blob: 'x'.repeat(1024 * 1024) }))).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(await post('/transactions', start({ input: { blob: 'x'.repeat(256 * 1024) } }))).toEqual([413, 'INPUT_TOO_LARGE']);
    expect(await post('/transactions', '{"definition": ')).toEqual([400, 'BAD_REQUEST']);
    expect(await post('/transactions', start({}), { 'content-type': 'text/plain' })).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect(await post('/transactions', start({ input: JSON.parse('{"a":'.repeat(70) + '1' + '}'.repeat(70)) }))).toEqual([400, 'VALIDATION_FAILED']);
    expect(await post('/transactions', start({ input: { note: 'a\u0000b' } }))).toEqual([400, 'VALIDATION_FAILED']);
    const steps = Array.from({ length: 101 }, (_, i) => ({ id: `s${i}`, participant: 'order', action: 'create', compensation: 'cancel' }));
    expect(await post('/definitions', JSON.stringify({ ...saga, steps }))).toEqual([400, 'INVALID_DEFINITION']);
  });
});

describe('rate limits', () => {
  const env = testEnv();
  let api: CoordinatorApi;

  beforeAll(async () => {
    // Its own topics and schema: this coordinator must not take the other one's replies.
    const coordinator = await startApp('coordinator', {
      KAFKA_TOPIC_PREFIX: `${env.topicPrefix}rate-limit.${randomBytes(2).toString('hex')}.`,
      DATABASE_SCHEMA: 'ordo_rate_limit',
      RATE_LIMIT_PER_MINUTE: '5',
    });
    api = new CoordinatorApi(coordinator.url);
  });

  it('answers 429 in the error shape with Retry-After past the limit, per credential, never on health', async () => {
    const get = (headers: Record<string, string>, path = '/definitions') => fetch(`${api.baseUrl}/api/v1${path}`, { headers });
    const admin = await Promise.all(Array.from({ length: 5 }, () => get(bearer('admin'))));
    expect(admin.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);

    const refused = await get(bearer('admin'));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('more than 5 requests in 60 s') } });

    // The same key sent as X-Api-Key is the same credential; another key has its own budget.
    expect((await get({ 'x-api-key': bearer('admin').authorization.slice(7) })).status).toBe(429);
    expect((await get(bearer('viewer'))).status).toBe(200);
    // Authentication comes first: an unknown key is refused, never counted.
    const unknown = await Promise.all(Array.from({ length: 6 }, () => get({ authorization: 'Bearer not-a-key' })));
    expect(unknown.map((r) => r.status)).toEqual(Array(6).fill(401));
    const health = await Promise.all(Array.from({ length: 10 }, () => get({}, '/health')));
    expect(health.map((r) => r.status)).toEqual(Array(10).fill(200));
  });
});
