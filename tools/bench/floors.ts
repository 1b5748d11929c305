import { randomBytes, randomUUID } from 'crypto';
import { rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { kafkaConfigFromEnv, KafkajsMessageBus } from '@ordo/platform';
import { coordinatorMigrations } from '../../migrations/coordinator';
import { inventoryMigrations } from '../../migrations/inventory';
import { paymentMigrations } from '../../migrations/payment';
import { dropDatabase, ensureDatabase, withDatabase } from '../infra/postgres';
import { percentile } from './harness';
import { pgbenchTps, runPgbench } from './pgbench';
import { DEFINITION, ROWS, sagaCounts, sagaScript, Service } from './saga-sql';

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
export async function kafkaFloor(brokers: string, topicPrefix: string, options: { rounds: number }): Promise<KafkaFloor> {
  const topics = { commands: `${topicPrefix}floor.commands`, replies: `${topicPrefix}floor.replies` };
  const kafka = kafkaConfigFromEnv({ KAFKA_BROKERS: brokers, KAFKA_TOPIC_PARTITIONS: '8' });
  const coordinator = new KafkajsMessageBus({ clientId: `${topicPrefix}floor-coordinator`, kafka });
  const participant = new KafkajsMessageBus({ clientId: `${topicPrefix}floor-participant`, kafka });
  /** Each leg's message carries a unique id; the coordinator's consumer resolves its waiter. */
  const waiting = new Map<string, () => void>();
  try {
    await coordinator.ensureTopics({ commands: [topics.commands], replies: [topics.replies] });
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
      handleBatch: (messages) => {
        for (const message of messages) {
          const id = message.value?.toString() ?? '';
          waiting.get(id)?.();
          waiting.delete(id);
        }
        return Promise.resolve();
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
  /** pgbench runs of the saga's script per second. */
  sagasPerSecond: number;
  /** Statements per saga, BEGIN and COMMIT included, and commits (explicit transactions and autocommit statements). */
  statementsPerSaga: number;
  commitsPerSaga: number;
  /** The same, by the service that sends them. */
  byService: Record<Service, { statements: number; commits: number }>;
}

/** Each service's schema, created by its own migrations, as the apps do at start. */
const SCHEMAS = [
  { schema: 'ordo', migrations: coordinatorMigrations },
  { schema: 'inventory', migrations: inventoryMigrations },
  { schema: 'payment', migrations: paymentMigrations },
];

/**
 * The most 2-step sagas per second this database allows Ordo's design: pgbench runs
 * SAGA (saga-sql.ts), every statement the coordinator and both participants send for one saga,
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
    writeFileSync(script, sagaScript());
    const clients = options.clients;
    const seconds = Math.ceil(options.seconds);
    const { stdout } = await runPgbench('pgbench (saga script)', options.pgbench, ['-n', '-f', script], { clients, seconds, url });
    const byService = sagaCounts();
    const total = (figure: 'statements' | 'commits') => Object.values(byService).reduce((sum, counts) => sum + counts[figure], 0);
    return {
      clients,
      seconds,
      sagasPerSecond: pgbenchTps(stdout),
      statementsPerSaga: total('statements'),
      commitsPerSaga: total('commits'),
      byService,
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
    await db.query(`INSERT INTO payment.accounts (id, owner, balance) SELECT 'b-' || n, 'bench', 1000000000000 FROM generate_series(1, $1) n`, [
      ROWS,
    ]);
  } finally {
    await db.end();
  }
}
