import { randomBytes } from 'crypto';
import { cpus } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { Infra, startInfra, stopInfra } from '../infra/infra';
import { REPO_ROOT } from '../infra/paths';
import { dropDatabase, ensureDatabase, withDatabase } from '../infra/postgres';
import { startBenchParticipant } from './bench-participant';
import { insertFinishedTransactions } from './finished-transactions';
import { Api, BenchApp, deleteTopics, EndWatcher, intEnv, log, median, replaceSection, startBenchApp } from './harness';
import { orderSaga } from './order-saga';

/**
 * `npm run bench:retention`: start-to-finish saga throughput of a coordinator on an empty
 * database and of one with BENCH_FINISHED (1,000,000) finished transactions. The second
 * must stay within 10 % of the first: a new transaction's cost must not grow with the
 * finished ones. Prints both figures and their ratio and writes them to docs/benchmarks.md.
 */
const SAGAS = intEnv('BENCH_SAGAS', 1000);
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 50);
const FINISHED = intEnv('BENCH_FINISHED', 1_000_000);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);
const SCHEMA = 'ordo_bench';
const PARTICIPANT = 'bench';

const DEFINITION = orderSaga('bench-order', {
  shop: PARTICIPANT,
  timeoutMs: 60_000,
  defaults: { timeoutMs: 10_000, retry: { maxAttempts: 5, initialDelayMs: 100, multiplier: 2, maxDelayMs: 2000 } },
});

interface Stack {
  label: string;
  databaseUrl: string;
  api: Api;
  db: Client;
  stop(): Promise<void>;
}

/**
 * One coordinator on a database and topic prefix of its own, with a participant. Two run
 * side by side, one kept empty, and their rounds alternate: on a shared machine a load
 * change then hits both figures alike.
 */
async function startStack(label: string, infra: Infra, runId: string): Promise<Stack> {
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
      DATABASE_SCHEMA: SCHEMA,
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      KAFKA_TOPIC_PARTITIONS: '8',
      ORDO_API_KEYS: `bench:admin:${apiKey}`,
      // The finished rows must stay for the measurement.
      RETENTION_MAX_AGE: 'off',
    });
    await db.connect();
    await db.query(`SET search_path = ${SCHEMA}`);
    const api = new Api(`http://127.0.0.1:${coordinator.port}/api/v1`, apiKey);
    await api.post('/definitions', DEFINITION);
    return { label, databaseUrl, api, db, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function main() {
  const infra = await startInfra(log);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const stacks: Stack[] = [];
  try {
    for (const label of ['empty', 'full']) stacks.push(await startStack(label, infra, runId));
    const [empty, full] = stacks;
    const warmUp = Math.min(200, SAGAS);
    log(`warm-up: ${warmUp} sagas on each`);
    for (const stack of stacks) await measure(stack, warmUp);

    const [{ events }] = (await empty.db.query(`SELECT round(count(*)::numeric / count(DISTINCT tx_id))::int AS events FROM events`)).rows;
    log(`inserting ${FINISHED} finished transactions (${DEFINITION.steps.length} steps, ${events} events each)`);
    const inserting = Date.now();
    await insertFinishedTransactions(
      full.databaseUrl,
      {
        schema: SCHEMA,
        definition: { name: DEFINITION.name, version: 1, steps: DEFINITION.steps },
        count: FINISHED,
        eventsPerTransaction: events,
        finishedAgoMs: 60_000,
        seed: runId,
      },
      log,
    );
    // As a long-running database would be: statistics current, visibility map set.
    await full.db.query('VACUUM ANALYZE transactions, timers, events');
    const size = (await full.db.query(`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`)).rows[0].size as string;
    log(`inserted in ${((Date.now() - inserting) / 1000).toFixed(0)} s; database ${size}`);
    await measure(full, warmUp);

    const figures = new Map<Stack, number[]>(stacks.map((stack) => [stack, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const stack of stacks) {
        figures.get(stack)!.push(await measure(stack, SAGAS));
        log(`round ${round}, ${stack.label}: ${figures.get(stack)!.at(-1)!.toFixed(1)} sagas/s`);
      }
    }
    const [emptyRate, fullRate] = stacks.map((stack) => median(figures.get(stack)!));
    const ratio = fullRate / emptyRate;
    log(`empty: ${emptyRate.toFixed(1)} sagas/s; with ${FINISHED.toLocaleString('en')} finished: ${fullRate.toFixed(1)} sagas/s; ratio ${(ratio * 100).toFixed(1)} %`);
    writeReport({ empty: emptyRate, full: fullRate, ratio, events, size, rounds: [...figures.values()] });
    if (ratio < 0.9) process.exitCode = 1;
  } finally {
    for (const stack of stacks) await stack.stop().catch((error: Error) => log(`cleaning up ${stack.label}: ${error.message}`));
    await stopInfra(infra.started);
  }
}

/**
 * Runs `count` sagas, at most CONCURRENCY unfinished at a time (closed loop); sagas per
 * second from the first start to the last end.
 */
async function measure({ api, db }: Stack, count: number): Promise<number> {
  const watcher = new EndWatcher(db);
  const started = Date.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) {
          const n = next++;
          const { id } = await api.post<{ id: string }>('/transactions', { definition: DEFINITION.name, input: { n } });
          await watcher.ended(id);
        }
      }),
    );
  } finally {
    await watcher.close();
  }
  return count / ((Date.now() - started) / 1000);
}

const START = '<!-- bench:retention:start -->';
const END = '<!-- bench:retention:end -->';

/** Replaces this benchmark's section of docs/benchmarks.md (other benchmarks have their own). */
function writeReport(result: { empty: number; full: number; ratio: number; events: number; size: string; rounds: number[][] }) {
  const file = join(REPO_ROOT, 'docs/benchmarks.md');
  const section = [
    START,
    `Last run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}),`,
    `Node.js ${process.version}, local PostgreSQL and Kafka shared by both coordinators. ${SAGAS} sagas of ${DEFINITION.steps.length} steps per round,`,
    `${CONCURRENCY} in flight, ${ROUNDS} rounds each, alternating; the finished transactions carry ${DEFINITION.steps.length} steps and ${result.events}`,
    `history events each (that database: ${result.size}).`,
    '',
    '| Database | Sagas per second (median) | Rounds |',
    '|---|---|---|',
    `| empty | ${result.empty.toFixed(1)} | ${result.rounds[0].map((r) => r.toFixed(1)).join(', ')} |`,
    `| ${FINISHED.toLocaleString('en')} finished transactions | ${result.full.toFixed(1)} | ${result.rounds[1].map((r) => r.toFixed(1)).join(', ')} |`,
    `| ratio | ${(result.ratio * 100).toFixed(1)} % (must be at least 90 %) | |`,
    END,
  ].join('\n');
  replaceSection(file, file, START, END, section);
  log(`wrote ${file}`);
}

main().catch((error) => {
  process.stderr.write(`[bench] ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
