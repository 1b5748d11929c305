import { randomBytes, randomUUID } from 'crypto';
import { rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { KafkajsMessageBus } from '@ordo/platform';
import { coordinatorMigrations } from '../../migrations/coordinator';
import { inventoryMigrations } from '../../migrations/inventory';
import { paymentMigrations } from '../../migrations/payment';
import { dropDatabase, ensureDatabase, withDatabase } from '../infra/postgres';
import { runOrFail } from '../infra/proc';
import { percentile } from './harness';

/**
 * The two floors under the 2-step saga's figures, measured on the same machine as the bench
 * itself: how little time its messaging can take on this broker, and how many of its
 * database transactions this database can run per second.
 */

// ---- Kafka: the latency of a saga's four messaging legs, nothing else ----

export interface KafkaFloor {
  /** Sequential produce → consume legs per round: command, reply, command, reply. */
  legs: number;
  rounds: number;
  /** Round latency percentiles, ms. */
  p50: number;
  p95: number;
  p99: number;
}

/** Warm-up rounds run, and discarded, once both consumers answer. */
const WARM_UP_ROUNDS = 20;
/** The first round waits for both consumer groups to join, which takes a few seconds. */
const FIRST_ROUND_TIMEOUT_MS = 60_000;
const LEG_TIMEOUT_MS = 10_000;

/**
 * The least time the messaging of one 2-step saga takes: `rounds` sagas one after the
 * other, each two command → reply trips between a "coordinator" and a "participant", each
 * with a message bus of its own as Ordo's processes have (KafkajsMessageBus: the same
 * producer, consumer and coalescing), and no database or business code in between. The
 * topics live under `topicPrefix`, which the caller deletes.
 */
export async function kafkaFloor(brokers: string[], topicPrefix: string, options: { rounds: number }): Promise<KafkaFloor> {
  const topics = { commands: `${topicPrefix}floor.commands`, replies: `${topicPrefix}floor.replies` };
  const coordinator = new KafkajsMessageBus({ clientId: `${topicPrefix}floor-coordinator`, brokers });
  const participant = new KafkajsMessageBus({ clientId: `${topicPrefix}floor-participant`, brokers });
  /** Each leg's message carries a unique id; the coordinator's consumer resolves its waiter. */
  const waiting = new Map<string, () => void>();
  try {
    await coordinator.ensureTopics([topics.commands, topics.replies], 8);
    // The participant answers each command on the reply topic, 8 partitions at once (COMMAND_CONCURRENCY's default).
    await participant.subscribe({
      groupId: `${topicPrefix}floor-participant`,
      topics: [topics.commands],
      concurrency: 8,
      handleBatch: (messages) => participant.publish(messages.map((m) => ({ topic: topics.replies, key: m.key ?? '', value: m.value ?? '' }))),
    });
    // The coordinator's reply consumer, with REPLY_CONCURRENCY's default.
    await coordinator.subscribe({
      groupId: `${topicPrefix}floor-coordinator`,
      topics: [topics.replies],
      concurrency: 4,
      handleBatch: async (messages) => {
        for (const message of messages) {
          const id = message.value?.toString() ?? '';
          waiting.get(id)?.();
          waiting.delete(id);
        }
      },
    });

    /** One command → reply trip: the command is keyed by the saga, as Ordo keys by txId. */
    const trip = (key: string, id: string, timeoutMs: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`Kafka floor: no reply to ${id} within ${timeoutMs / 1000}s`));
        }, timeoutMs);
        waiting.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
        coordinator.publish([{ topic: topics.commands, key, value: id }]).catch(reject);
      });
    const round = async (timeoutMs: number) => {
      const key = randomUUID();
      const started = performance.now();
      await trip(key, `${key}/1`, timeoutMs);
      await trip(key, `${key}/2`, timeoutMs);
      return performance.now() - started;
    };

    // Messages sent before a group has joined wait for it (fromBeginning), so the first round
    // ends once both consumers have their partitions.
    await round(FIRST_ROUND_TIMEOUT_MS);
    for (let n = 0; n < WARM_UP_ROUNDS; n++) await round(LEG_TIMEOUT_MS);
    const latencies: number[] = [];
    for (let n = 0; n < options.rounds; n++) latencies.push(await round(LEG_TIMEOUT_MS));
    latencies.sort((a, b) => a - b);
    const at = (p: number) => Math.round(percentile(latencies, p) * 10) / 10;
    return { legs: 4, rounds: options.rounds, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
  } finally {
    await Promise.all([coordinator.close(), participant.close()]);
  }
}

// ---- PostgreSQL: the statements of a saga, nothing else ----

export interface SqlFloor {
  clients: number;
  seconds: number;
  /** pgbench runs of SAGA_SCRIPT per second. */
  sagasPerSecond: number;
  /** Database transactions per saga (BEGIN … COMMIT blocks). */
  transactionsPerSaga: number;
  /** SQL statements per saga, BEGIN and COMMIT not counted. */
  statementsPerSaga: number;
}

/** Products and accounts the sagas spread over, as in the bench: no hot row serialises them. */
const ROWS = 1000;
const DEFINITION = 'bench-saga2';

/** TransactionRepository.lock: the transaction's row locked, then loaded with its steps (SELECT_WITH_STEPS). */
const LOCK_AND_LOAD = `SELECT id FROM ordo.transactions WHERE id = ANY('{:txid}'::uuid[]) ORDER BY id FOR UPDATE;
SELECT id, definition_name, definition_version, type, status, input, started_at, deadline, rollback,
    idempotency_key, traceparent, decision, created_at, updated_at, (SELECT coalesce(json_agg(json_build_object('step_id', s.step_id,
    'participant', s.participant, 'status', s.status, 'phase', s.phase, 'attempt', s.attempt, 'attempts_left', s.attempts_left,
    'waiting_for', s.waiting_for, 'due_at', s.due_at, 'output', s.output, 'last_error', s.last_error) ORDER BY s.position), '[]')
    FROM ordo.steps s WHERE s.tx_id = t.id) AS steps
  FROM ordo.transactions t WHERE id = ANY('{:txid}'::uuid[]) ORDER BY id;`;

/** TransactionRepository.update's row update, up to its values (the steps' upsert follows in the same statement). */
const UPDATE_TRANSACTIONS = `UPDATE ordo.transactions t SET status = c.status, started_at = c.started_at, deadline = c.deadline,
    rollback = c.rollback, next_due_at = c.next_due_at, decision = c.decision, updated_at = now()`;

/** The steps upsert (stepsUpsert in transaction.repository.ts), around its values. */
const STEPS_UPSERT_INTO = `INSERT INTO ordo.steps (tx_id, step_id, participant, status, phase, attempt, attempts_left, waiting_for, due_at,
    output, last_error, position, updated_at)`;
const STEPS_UPSERT_ON_CONFLICT = `  ON CONFLICT (tx_id, step_id) DO UPDATE SET status = excluded.status, phase = excluded.phase,
    attempt = excluded.attempt, attempts_left = excluded.attempts_left, waiting_for = excluded.waiting_for,
    due_at = excluded.due_at, output = excluded.output, last_error = excluded.last_error, updated_at = now()`;

/**
 * OutboxRelay.publishBatch: claim, (publish), delete. The claim is narrowed to this saga's row
 * (key = txid) so that concurrent pgbench clients, each playing a relay, do not claim one
 * another's rows; the real relay deletes exactly the ids it claimed, as here.
 */
const RELAY = `BEGIN;
SELECT id, topic, key, payload, headers FROM ordo.outbox WHERE key = ':txid' ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED \\gset outbox_
DELETE FROM ordo.outbox WHERE id = ANY('{:outbox_id}'::bigint[]);
COMMIT;`;

/**
 * One participant step behind the SDK's barrier, in its local transaction
 * (command-consumer.ts handleInTransaction → sql-barrier.ts passBarrier: advisory lock,
 * loadCommandRows; run-handler.ts: savepoint; the handler; storeBarrierWrites).
 */
const behindBarrier = (schema: string, stepId: string, handler: string, reply: string) => `BEGIN;
SELECT pg_advisory_xact_lock(hashtext(':txid/${stepId}'));
SELECT phase, origin, reply FROM ${schema}.ordo_barrier WHERE tx_id = ':txid' AND step_id = '${stepId}' AND phase = ANY('{execute}');
SAVEPOINT ordo_handler;
${handler}
INSERT INTO ${schema}.ordo_barrier (tx_id, step_id, phase, origin, reply) VALUES (':txid', '${stepId}', 'execute', 'handler',
    '${reply}')
  ON CONFLICT DO NOTHING;
COMMIT;`;

/**
 * The SQL of one 2-step saga (reserve-stock at inventory, then charge at payment), as the
 * coordinator and the two participants send it, in the order they send it. The text of each
 * statement is the code's; where the code binds parameters, literals of the same shape
 * stand in (pgbench's simple protocol substitutes :variables even inside quotes). Names are
 * schema-qualified because one pgbench connection plays all three services.
 *
 * Left out, as they do not run once per saga: the participant gate's in-flight count
 * (countAwaitingReply, at most once per IN_FLIGHT_REFRESH_MS per coordinator) and the
 * definition cache's lookups of a pinned version (cached for the life of the process).
 * The relay is counted once per command: a batch of one, as at low load; under load it
 * claims up to OUTBOX_BATCH_SIZE rows at once, so this floor charges the relay in full.
 */
const SAGA_SCRIPT = `
\\set sku random(1, ${ROWS})
\\set account random(1, ${ROWS})

-- Start: TransactionsService.start → DefinitionCatalog.get → DefinitionRepository.find (the
-- latest version, outside the transaction). The extra columns are the harness's: the ids the
-- API client and the coordinator would make up (randomUUID), and the clock, in one round trip.
SELECT name, version, type, body, created_at, gen_random_uuid() AS txid, gen_random_uuid() AS order_id,
  (extract(epoch FROM now()) * 1000)::bigint AS now_ms
  FROM ordo.definitions WHERE name = '${DEFINITION}' ORDER BY version DESC LIMIT 1 \\gset

-- TransactionEngine.startInSpan: TransactionRepository.insert (row and steps in one statement), then
-- writeEffects: appendEvents and OutboxWriter.enqueue (its pg_notify in the same statement).
BEGIN;
WITH inserted AS (INSERT INTO ordo.transactions (id, definition_name, definition_version, type, status, input, started_at, deadline,
    rollback, next_due_at, idempotency_key, traceparent, created_at, updated_at)
  VALUES (':txid', '${DEFINITION}', 1, 'saga', 'running',
    '{"orderId": ":order_id", "sku": "B-:sku", "qty": 1, "accountId": "b-:account", "amount": 1}',
    now(), now() + interval '30 s', NULL, now() + interval '5 s', NULL, NULL, now(), now())
  ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id), steps AS (
${STEPS_UPSERT_INTO}
  SELECT *, now() FROM unnest('{:txid,:txid}'::uuid[], '{reserve-stock,charge}'::text[], '{inventory,payment}'::text[],
    '{running,pending}'::text[], '{execute,execute}'::text[], '{1,0}'::int[], '{4,5}'::int[],
    ARRAY['reply', NULL]::text[], ARRAY[now() + interval '5 s', NULL]::timestamptz[], '{NULL,NULL}'::jsonb[],
    '{NULL,NULL}'::jsonb[], '{0,1}'::smallint[]) AS changed WHERE EXISTS (SELECT FROM inserted)
${STEPS_UPSERT_ON_CONFLICT})
  SELECT id FROM inserted;
INSERT INTO ordo.events (tx_id, type, step_id, actor, data, at)
  SELECT * FROM unnest('{:txid,:txid,:txid}'::uuid[],
    '{transaction.started,step.status_changed,step.dispatched}'::text[], ARRAY[NULL, 'reserve-stock', 'reserve-stock']::text[],
    '{NULL,NULL,NULL}'::text[], ARRAY[
      '{"type":"transaction.started","deadline": :now_ms}',
      '{"type":"step.status_changed","stepId":"reserve-stock","from":"pending","to":"running"}',
      '{"type":"step.dispatched","stepId":"reserve-stock","phase":"execute","attempt":1,"deadline": :now_ms}']::jsonb[],
    ARRAY[now(), now(), now()]::timestamptz[]);
WITH queued AS (INSERT INTO ordo.outbox (topic, key, payload, headers)
  SELECT * FROM unnest('{inventory.commands}'::text[], '{:txid}'::text[], ARRAY['{"txId":":txid","stepId":"reserve-stock","type":"saga","phase":"execute","action":"reserve","attempt":1,"input":{"sku":"B-:sku","qty":1,"orderId":":order_id"},"deadline":"2030-01-01T00:00:05.000Z"}']::text[],
    ARRAY['{"ordo-message-id":":txid/reserve-stock/execute/1"}']::jsonb[]) RETURNING 1)
  SELECT pg_notify('ordo_outbox', '') WHERE EXISTS (SELECT FROM queued);
COMMIT;

-- OutboxRelay.publishBatch (RELAY).
${RELAY}

-- Inventory: CommandConsumer.handleInTransaction → passBarrier (sql-barrier.ts: advisory lock,
-- loadCommandRows) → runHandler (savepoint) → StockService.reserve (StockRepository.take,
-- reserve) → storeBarrierWrites.
${behindBarrier('inventory', 'reserve-stock', `WITH taken AS (
    UPDATE inventory.products SET stock = stock - 1, updated_at = now() WHERE sku = 'B-:sku' AND stock >= 1 RETURNING 1)
  SELECT 1 FROM taken;
INSERT INTO inventory.reservations (tx_id, step_id, order_id, sku, qty) VALUES (':txid', 'reserve-stock', ':order_id', 'B-:sku', 1) RETURNING * \\gset reservation_`,
'{"outcome":"success","output":{"reservationId":":reservation_id"}}')}

-- Its reply: TransactionEngine.applyReplies → TransactionRepository.lock (lock, then load), persist
-- (update: the transactions row and the two changed steps), writeEffects
-- (appendEvents; enqueue of the charge command, notifying in the same statement).
BEGIN;
${LOCK_AND_LOAD}
WITH updated AS (${UPDATE_TRANSACTIONS}
  FROM unnest('{:txid}'::uuid[], '{running}'::text[], ARRAY[now()]::timestamptz[], ARRAY[now() + interval '30 s']::timestamptz[],
    '{NULL}'::jsonb[], ARRAY[now() + interval '5 s']::timestamptz[], '{NULL}'::text[])
    AS c (id, status, started_at, deadline, rollback, next_due_at, decision)
  WHERE t.id = c.id RETURNING 1)
${STEPS_UPSERT_INTO}
  SELECT *, now() FROM unnest('{:txid,:txid}'::uuid[], '{reserve-stock,charge}'::text[], '{inventory,payment}'::text[],
    '{succeeded,running}'::text[], '{execute,execute}'::text[], '{1,1}'::int[], '{4,4}'::int[],
    ARRAY[NULL, 'reply']::text[], ARRAY[NULL, now() + interval '5 s']::timestamptz[],
    ARRAY['{"reservationId":":reservation_id"}', NULL]::jsonb[], '{NULL,NULL}'::jsonb[], '{0,1}'::smallint[])
${STEPS_UPSERT_ON_CONFLICT};
INSERT INTO ordo.events (tx_id, type, step_id, actor, data, at)
  SELECT * FROM unnest('{:txid,:txid,:txid,:txid}'::uuid[],
    '{step.replied,step.status_changed,step.status_changed,step.dispatched}'::text[],
    '{reserve-stock,reserve-stock,charge,charge}'::text[], '{NULL,NULL,NULL,NULL}'::text[], ARRAY[
      '{"type":"step.replied","stepId":"reserve-stock","phase":"execute","attempt":1,"outcome":"success"}',
      '{"type":"step.status_changed","stepId":"reserve-stock","from":"running","to":"succeeded"}',
      '{"type":"step.status_changed","stepId":"charge","from":"pending","to":"running"}',
      '{"type":"step.dispatched","stepId":"charge","phase":"execute","attempt":1,"deadline": :now_ms}']::jsonb[],
    ARRAY[now(), now(), now(), now()]::timestamptz[]);
WITH queued AS (INSERT INTO ordo.outbox (topic, key, payload, headers)
  SELECT * FROM unnest('{payment.commands}'::text[], '{:txid}'::text[], ARRAY['{"txId":":txid","stepId":"charge","type":"saga","phase":"execute","action":"charge","attempt":1,"input":{"accountId":"b-:account","amount":1,"orderId":":order_id"},"deadline":"2030-01-01T00:00:05.000Z"}']::text[],
    ARRAY['{"ordo-message-id":":txid/charge/execute/1"}']::jsonb[]) RETURNING 1)
  SELECT pg_notify('ordo_outbox', '') WHERE EXISTS (SELECT FROM queued);
COMMIT;

-- OutboxRelay.publishBatch again, for the charge command.
${RELAY}

-- Payment: the same SDK path (command-consumer.ts, sql-barrier.ts, run-handler.ts) around
-- PaymentsService.charge (PaymentsRepository.debit, charge).
${behindBarrier('payment', 'charge', `WITH debited AS (
    UPDATE payment.accounts SET balance = balance - 1, updated_at = now() WHERE id = 'b-:account' AND balance - frozen >= 1 RETURNING 1)
  SELECT 1 FROM debited;
INSERT INTO payment.charges (tx_id, step_id, account_id, order_id, amount) VALUES (':txid', 'charge', 'b-:account', ':order_id', 1) RETURNING * \\gset charge_`,
'{"outcome":"success","output":{"chargeId":":charge_id"}}')}

-- The final reply: applyReplies as above; the saga completes (no pivot step, so no
-- transaction.committed event) and sends nothing, so no outbox row and no notification.
BEGIN;
${LOCK_AND_LOAD}
WITH updated AS (${UPDATE_TRANSACTIONS}
  FROM unnest('{:txid}'::uuid[], '{completed}'::text[], ARRAY[now()]::timestamptz[], ARRAY[now() + interval '30 s']::timestamptz[],
    '{NULL}'::jsonb[], '{NULL}'::timestamptz[], '{NULL}'::text[])
    AS c (id, status, started_at, deadline, rollback, next_due_at, decision)
  WHERE t.id = c.id RETURNING 1)
${STEPS_UPSERT_INTO}
  SELECT *, now() FROM unnest('{:txid}'::uuid[], '{charge}'::text[], '{payment}'::text[], '{succeeded}'::text[],
    '{execute}'::text[], '{1}'::int[], '{4}'::int[], '{NULL}'::text[], '{NULL}'::timestamptz[],
    ARRAY['{"chargeId":":charge_id"}']::jsonb[], '{NULL}'::jsonb[], '{1}'::smallint[])
${STEPS_UPSERT_ON_CONFLICT};
INSERT INTO ordo.events (tx_id, type, step_id, actor, data, at)
  SELECT * FROM unnest('{:txid,:txid,:txid}'::uuid[], '{step.replied,step.status_changed,transaction.status_changed}'::text[],
    ARRAY['charge', 'charge', NULL]::text[], '{NULL,NULL,NULL}'::text[], ARRAY[
      '{"type":"step.replied","stepId":"charge","phase":"execute","attempt":1,"outcome":"success"}',
      '{"type":"step.status_changed","stepId":"charge","from":"running","to":"succeeded"}',
      '{"type":"transaction.status_changed","from":"running","to":"completed"}']::jsonb[],
    ARRAY[now(), now(), now()]::timestamptz[]);
COMMIT;
`;

/** The script's statements: each ends with a semicolon or a \gset. */
const SCRIPT_STATEMENTS = SAGA_SCRIPT.split('\n')
  .filter((line) => !line.startsWith('--') && !line.startsWith('\\set'))
  .join('\n')
  .split(/;\s*$|\\gset.*$/m)
  .map((statement) => statement.trim())
  .filter((statement) => statement.length > 0);

/** Each service's schema, created by its own migrations, as the apps do at start. */
const SCHEMAS = [
  { schema: 'ordo', migrations: coordinatorMigrations },
  { schema: 'inventory', migrations: inventoryMigrations },
  { schema: 'payment', migrations: paymentMigrations },
];

/**
 * The most 2-step sagas per second this database allows Ordo's design: pgbench runs
 * SAGA_SCRIPT, every statement the coordinator and both participants send for one saga,
 * from `clients` connections for `seconds`, against the real tables (made by the real
 * migrations) in a scratch database of their own. No Kafka, no Node.js, no waiting between
 * the steps: whatever the apps add can only lower this.
 */
export async function sqlFloor(databaseUrl: string, options: { clients: number; seconds: number; pgbench: string }): Promise<SqlFloor> {
  const database = `ordo_floor_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(databaseUrl, database);
  const script = join(tmpdir(), `${database}.sql`);
  try {
    await ensureDatabase(databaseUrl, database);
    for (const { schema, migrations } of SCHEMAS) {
      const dataSource = await new DataSource({
        type: 'postgres',
        url,
        schema,
        migrations,
        migrationsTableName: 'migrations',
        extra: { max: 1, options: `-c search_path=${schema}` },
      }).initialize();
      try {
        await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        // 'each', as migrate() does: one migration builds its index CONCURRENTLY, outside a transaction.
        await dataSource.runMigrations({ transaction: 'each' });
      } finally {
        await dataSource.destroy();
      }
    }
    await seed(url);
    writeFileSync(script, SAGA_SCRIPT);
    const clients = options.clients;
    const seconds = Math.ceil(options.seconds);
    const { stdout } = await runOrFail('pgbench (saga script)', options.pgbench, [
      '-n', '-f', script, '-c', String(clients), '-j', String(Math.min(2, clients)), '-T', String(seconds), url,
    ]);
    const tps = stdout.match(/^tps = ([\d.]+)/m);
    if (!tps) throw new Error(`no tps in pgbench's output:\n${stdout}`);
    const failed = stdout.match(/^number of failed transactions: (\d+)/m);
    if (failed && Number(failed[1]) > 0) throw new Error(`pgbench: ${failed[1]} saga scripts failed:\n${stdout}`);
    return {
      clients,
      seconds,
      sagasPerSecond: Number(tps[1]),
      transactionsPerSaga: SCRIPT_STATEMENTS.filter((s) => s === 'BEGIN').length,
      statementsPerSaga: SCRIPT_STATEMENTS.filter((s) => s !== 'BEGIN' && s !== 'COMMIT').length,
    };
  } finally {
    rmSync(script, { force: true });
    await dropDatabase(databaseUrl, database);
  }
}

/** The saga's definition (the transactions' foreign key), and stock and money enough for any run, as the bench seeds them. */
async function seed(url: string): Promise<void> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    await db.query(`INSERT INTO ordo.definitions (name, version, type, body, body_hash) VALUES ($1, 1, 'saga', $2, 'floor')`, [
      DEFINITION,
      JSON.stringify({ name: DEFINITION, type: 'saga', steps: [{ id: 'reserve-stock' }, { id: 'charge' }] }),
    ]);
    await db.query(`INSERT INTO inventory.products (sku, name, stock) SELECT 'B-' || n, 'bench', 1000000000 FROM generate_series(1, $1) n`, [ROWS]);
    await db.query(`INSERT INTO payment.accounts (id, owner, balance) SELECT 'b-' || n, 'bench', 1000000000000 FROM generate_series(1, $1) n`, [ROWS]);
  } finally {
    await db.end();
  }
}
