import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { Infra } from '../infra/infra';
import { dropDatabase, ensureDatabase, withDatabase } from '../infra/postgres';
import { startBenchParticipant } from './bench-participant';
import { Api, BenchApp, deleteTopics, EndWatcher, startBenchApp } from './harness';
import { orderSaga } from './order-saga';

/** The schema of a stack's coordinator. */
export const STACK_SCHEMA = 'ordo_bench';
const PARTICIPANT = 'bench';

/** The saga a stack runs: the order saga on a participant that answers `success` at once. */
export const STACK_DEFINITION = orderSaga('bench-order', {
  shop: PARTICIPANT,
  timeoutMs: 60_000,
  defaults: { timeoutMs: 10_000, retry: { maxAttempts: 5, initialDelayMs: 100, multiplier: 2, maxDelayMs: 2000 } },
});

export interface Stack {
  label: string;
  databaseUrl: string;
  api: Api;
  db: Client;
  stop(): Promise<void>;
}

/**
 * One coordinator on a database and topic prefix of its own (dropped by `stop`), with
 * retention off and a participant, and STACK_DEFINITION registered. The retention bench
 * runs two side by side; `db` reads its tables.
 */
export async function startStack(label: string, infra: Infra, runId: string): Promise<Stack> {
  const database = `ordo_bench_${runId}_${label}`;
  const topicPrefix = `bench-${runId}-${label}.`;
  await ensureDatabase(infra.databaseUrl, database);
  const databaseUrl = withDatabase(infra.databaseUrl, database);
  const apiKey = randomBytes(16).toString('hex');
  const participant = await startBenchParticipant({ name: PARTICIPANT, brokers: infra.kafkaBrokers, topicPrefix, partitions: 8 });
  const db = new Client({ connectionString: databaseUrl });
  let coordinator: BenchApp | undefined;
  const stop = async () => {
    await db.end().catch(() => undefined);
    await participant.stop().catch(() => undefined);
    await coordinator?.stop();
    await deleteTopics(infra.kafkaBrokers, topicPrefix);
    await dropDatabase(infra.databaseUrl, database);
  };
  try {
    coordinator = await startBenchApp('coordinator', {
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: STACK_SCHEMA,
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      KAFKA_TOPIC_PARTITIONS: '8',
      ORDO_API_KEYS: `bench:admin:${apiKey}`,
      // The bulk-inserted finished rows must stay for the measurement.
      RETENTION_MAX_AGE: 'off',
    });
    await db.connect();
    await db.query(`SET search_path = ${STACK_SCHEMA}`);
    const api = new Api(`http://127.0.0.1:${coordinator.port}/api/v1`, apiKey);
    await api.post('/definitions', STACK_DEFINITION);
    return { label, databaseUrl, api, db, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Runs `count` sagas, at most `concurrency` unfinished at a time (closed loop), each started
 * with the body `start(n)` gives; sagas per second from the first start to the last end.
 */
export async function runSagas(
  { api, db }: Stack,
  count: number,
  concurrency: number,
  start: (n: number) => object = (n) => ({ definition: STACK_DEFINITION.name, input: { n } }),
): Promise<number> {
  const watcher = new EndWatcher(db);
  const started = Date.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const { id } = await api.post<{ id: string }>('/transactions', start(next++));
          await watcher.ended(id);
        }
      }),
    );
  } finally {
    await watcher.close();
  }
  return count / ((Date.now() - started) / 1000);
}
