import { randomBytes, randomUUID } from 'crypto';
import { rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client, ClientBase, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { kafkaConfigFromEnv, KafkajsMessageBus } from '@ordo/platform';
import { coordinatorMigrations } from '../../migrations/coordinator';
import { inventoryMigrations } from '../../migrations/inventory';
import { paymentMigrations } from '../../migrations/payment';
import { dropDatabase, ensureDatabase, withDatabase } from '../infra/postgres';
import { paced, percentile } from './harness';
import { metered, Processes, Usage } from './usage';
import { pgbenchTps, runPgbench } from './pgbench';
import { DEFINITION, ROWS, SAGA, sagaCounts, sagaScript, Sender, sent, Service, SqlTransaction } from './saga-sql';

/**
 * The floors under the 2-step saga's figures, measured on the same machine as the bench
 * itself: how little time its messaging can take on this broker, alone and with the saga's
 * SQL in between, and how many of its database transactions this database can run per second.
 */

// ---- Kafka, and Kafka with the saga's SQL: the latency of one saga at idle ----

export interface LatencyFloor {
  /** Sequential produce → consume legs per round: command, reply, command, reply. */
  legs: number;
  /** SQL round trips timed per round, one after the other (0: messaging alone). */
  roundTrips: number;
  rounds: number;
  /** Rounds started per second whatever the answers; absent: one round after the other. */
  rate?: number;
  /** Round latency percentiles, ms. */
  p50: number;
  p95: number;
  p99: number;
}

/**
 * How a floor's rounds run: one after the other, or started `rate` a second for `seconds`
 * whatever the answers (as the bench's half-load run starts sagas), with the CPU of the
 * processes in `meter` measured around them.
 */
export type FloorPace = { rounds: number } | { rate: number; seconds: number; meter: Processes };

/** A floor measured at a pace, with the CPU it cost (the floor's clients run in the harness's process). */
export type PacedFloor = LatencyFloor & { usage: Usage };

/** Warm-up rounds run, and discarded, once both consumers answer. */
const WARM_UP_ROUNDS = 20;
/** The first round waits for both consumer groups to join, which takes a few seconds. */
const FIRST_ROUND_TIMEOUT_MS = 60_000;
const LEG_TIMEOUT_MS = 10_000;
/**
 * A paced floor's queue can grow all run on a machine that cannot carry its rate: a round
 * unanswered this long counts as this long (a least figure) rather than failing the bench.
 */
const PACED_ROUND_TIMEOUT_MS = 120_000;

/** A leg's reply did not come in time. */
class NoReply extends Error {}

/**
 * What each side does at its turns of a round, between the legs: the coordinator's turn n
 * (0 before the first command, 1 between the trips, 2 after the last reply, untimed, which
 * ends the round), and the participant's before it answers command n (1 or 2).
 */
interface Turns {
  coordinator(key: string, turn: number): Promise<void>;
  participant(key: string, command: number): Promise<void>;
}

/**
 * The least time the messaging of one 2-step saga takes: `rounds` sagas one after the
 * other, each two command → reply trips between a "coordinator" and a "participant", each
 * with a message bus of its own as Ordo's processes have (KafkajsMessageBus: the same
 * producer, consumer and coalescing), and no database or business code in between. The
 * topics live under `topicPrefix`, which the caller deletes.
 */
export function kafkaFloor(brokers: string, topicPrefix: string, options: { rounds: number }): Promise<LatencyFloor> {
  return latencyFloor(brokers, `${topicPrefix}floor`, options);
}

/**
 * The least time one idle 2-step saga takes with Ordo's design on this machine: the four
 * legs of kafkaFloor and, at each turn, the SQL that service sends for the saga (SAGA in
 * saga-sql.ts: the coordinator's statements, each participant's local transaction
 * statement by statement), one round trip after the other, each service on a connection of
 * its own, against tables made by the real migrations in a scratch database. No framework,
 * no barrier code, no handler: what the apps add to an idle saga is its latency minus this.
 * Timed like the bench's idle run (from before the start's statement to when the final
 * decision is sent).
 */
export function idleFloor(brokers: string, topicPrefix: string, databaseUrl: string, options: { rounds: number }): Promise<LatencyFloor> {
  return sagaFloor(brokers, `${topicPrefix}idle-floor`, databaseUrl, options);
}

/**
 * The idle floor's sagas started at `rate` a second, as the half-load run starts Ordo's:
 * what the messaging and SQL alone cost at that rate (each saga's statements in transactions
 * of its own, each service on a pool of connections, as the apps have), in latency and in CPU.
 */
export function pacedFloor(
  brokers: string,
  topicPrefix: string,
  databaseUrl: string,
  pace: Extract<FloorPace, { rate: number }>,
): Promise<PacedFloor> {
  return sagaFloor(brokers, `${topicPrefix}paced-floor`, databaseUrl, pace) as Promise<PacedFloor>;
}

/** Connections each service of a saga floor may hold, as an app's pool. */
const FLOOR_POOL_SIZE = 8;

async function sagaFloor(brokers: string, name: string, databaseUrl: string, pace: FloorPace): Promise<LatencyFloor | PacedFloor> {
  return withSagaDatabase(databaseUrl, async (url) => {
    const path = turnsOf(SAGA);
    const pools = new Map<Sender, Pool>(path.map((turn) => [turn[0].service, new Pool({ connectionString: url, max: FLOOR_POOL_SIZE })]));
    try {
      const sagas = new Map<string, Map<string, string>>();
      const run = async (key: string, turn: SqlTransaction[]) => {
        const variables = sagas.get(key)!;
        for (const tx of turn) {
          const client = await pools.get(tx.service)!.connect();
          try {
            await runTransaction(client, tx, variables);
            client.release();
          } catch (error) {
            client.release(error as Error);
            throw error;
          }
        }
      };
      const turns: Turns = {
        coordinator: async (key, turn) => {
          if (turn === 0) sagas.set(key, sagaVariables(key));
          await run(key, path[2 * turn]);
          if (turn === 2) sagas.delete(key);
        },
        participant: (key, command) => run(key, path[2 * command - 1]),
      };
      const roundTrips = path
        .slice(0, -1)
        .flat()
        .reduce((sum, tx) => sum + sent(tx).length, 0);
      return { ...(await latencyFloor(brokers, name, pace, turns)), roundTrips };
    } finally {
      for (const pool of pools.values()) await pool.end().catch(() => undefined);
    }
  });
}

/**
 * SAGA's transactions on the saga's path, grouped into turns of one service: coordinator,
 * first participant, coordinator, second participant, coordinator. The harness's own
 * statement is left out (the ids and the clock come from here, as in the coordinator).
 */
function turnsOf(saga: SqlTransaction[]): SqlTransaction[][] {
  const turns: SqlTransaction[][] = [];
  for (const tx of saga.filter((t) => t.service !== 'harness')) {
    const last = turns.at(-1);
    if (last?.[0].service === tx.service) last.push(tx);
    else turns.push([tx]);
  }
  const shape = turns.map((turn) => (turn[0].service === 'coordinator' ? 'c' : 'p')).join('');
  if (shape !== 'cpcpc')
    throw new Error(`saga-sql.ts: expected the turns coordinator, participant, coordinator, participant, coordinator; got ${shape}`);
  return turns;
}

/** The variables the script takes from pgbench (\set, and the harness's \gset), as the coordinator makes them. */
function sagaVariables(txId: string): Map<string, string> {
  const random = () => String(1 + Math.floor(Math.random() * ROWS));
  const now = Date.now();
  const at = (later: number) => new Date(now + later).toISOString();
  return new Map([
    ['txid', txId],
    ['order_id', randomUUID()],
    ['now_ms', String(now)],
    ['now_ts', at(0)],
    ['deadline_ts', at(30_000)],
    ['due_ts', at(5_000)],
    ['sku', random()],
    ['account', random()],
  ]);
}

/**
 * One of SAGA's transactions through node-postgres, one round trip per statement (BEGIN and
 * COMMIT too, as the SDK sends them): pgbench's :variables substituted, a trailing \gset
 * storing the row's columns as variables (with its prefix), as pgbench does.
 */
async function runTransaction(db: ClientBase, tx: SqlTransaction, variables: Map<string, string>): Promise<void> {
  for (const statement of sent(tx)) {
    const gset = /\\gset\s*(\w*)\s*$/.exec(statement);
    const text = (gset ? statement.slice(0, gset.index) : statement).replace(
      /(?<!:):([a-z_]\w*)/g,
      (name, variable: string) => variables.get(variable) ?? name,
    );
    const { rows } = await db.query<Record<string, unknown>>(text);
    if (gset) for (const [column, value] of Object.entries(rows[0] ?? {})) variables.set(`${gset[1]}${column}`, String(value));
  }
}

/**
 * Sagas over Kafka between a "coordinator" and a "participant" bus, run as `pace` says, with
 * `turns` run between the legs; round latency percentiles.
 */
async function latencyFloor(brokers: string, name: string, pace: FloorPace, turns?: Turns): Promise<LatencyFloor | PacedFloor> {
  const topics = { commands: `${name}.commands`, replies: `${name}.replies` };
  const kafka = kafkaConfigFromEnv({ KAFKA_BROKERS: brokers, KAFKA_TOPIC_PARTITIONS: '8' });
  const coordinator = new KafkajsMessageBus({ clientId: `${name}-coordinator`, kafka });
  const participant = new KafkajsMessageBus({ clientId: `${name}-participant`, kafka });
  /** Each leg's message carries a unique id; the coordinator's consumer resolves its waiter. */
  const waiting = new Map<string, () => void>();
  try {
    await coordinator.ensureTopics({ commands: [topics.commands], replies: [topics.replies] });
    // The participant answers each command on the reply topic, 8 partitions at once (COMMAND_CONCURRENCY's default).
    await participant.subscribe({
      groupId: `${name}-participant`,
      topics: [topics.commands],
      concurrency: 8,
      handleBatch: async (messages) => {
        for (const message of messages) {
          const [key, command] = (message.value?.toString() ?? '').split('/');
          await turns?.participant(key, Number(command));
        }
        await participant.publish(messages.map((m) => ({ topic: topics.replies, key: m.key ?? '', value: m.value ?? '' })));
      },
    });
    // The coordinator's reply consumer, with REPLY_CONCURRENCY's default.
    await coordinator.subscribe({
      groupId: `${name}-coordinator`,
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
          reject(new NoReply(`${name}: no reply to ${id} within ${timeoutMs / 1000}s`));
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
      await turns?.coordinator(key, 0);
      await trip(key, `${key}/1`, timeoutMs);
      await turns?.coordinator(key, 1);
      await trip(key, `${key}/2`, timeoutMs);
      const ended = performance.now();
      await turns?.coordinator(key, 2);
      return ended - started;
    };

    // Messages sent before a group has joined wait for it (fromBeginning), so the first round
    // ends once both consumers have their partitions.
    await round(FIRST_ROUND_TIMEOUT_MS);
    for (let n = 0; n < WARM_UP_ROUNDS; n++) await round(LEG_TIMEOUT_MS);
    const summary = (latencies: number[]) => {
      latencies.sort((a, b) => a - b);
      const at = (p: number) => Math.round(percentile(latencies, p) * 10) / 10;
      return { legs: 4, roundTrips: 0, rounds: latencies.length, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
    };
    if ('rounds' in pace) {
      const latencies: number[] = [];
      for (let n = 0; n < pace.rounds; n++) latencies.push(await round(LEG_TIMEOUT_MS));
      return summary(latencies);
    }
    // Started on schedule whatever the answers.
    const measured = await metered(pace.meter, async () => {
      const latencies = await paced(pace.rate, pace.seconds, () =>
        round(PACED_ROUND_TIMEOUT_MS).catch((error: Error) => {
          if (error instanceof NoReply) return PACED_ROUND_TIMEOUT_MS;
          throw error;
        }),
      );
      return { latencies, count: latencies.length };
    });
    const { latencies, ...usage } = measured;
    return { ...summary(latencies), rate: pace.rate, usage };
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
  return withSagaDatabase(databaseUrl, async (url, database) => {
    const script = join(tmpdir(), `${database}.sql`);
    try {
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
    }
  });
}

/** Runs `work` on a scratch database with the saga's tables (the real migrations) and rows, dropped after. */
async function withSagaDatabase<T>(databaseUrl: string, work: (url: string, database: string) => Promise<T>): Promise<T> {
  const database = `ordo_floor_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(databaseUrl, database);
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
    return await work(url, database);
  } finally {
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
