import { randomBytes } from 'crypto';
import { startInfra, stopInfra } from '../infra/infra';
import { runSagas, Stack, STACK_DEFINITION as DEFINITION, STACK_SCHEMA as SCHEMA, startStack } from './bench-stack';
import { insertFinishedTransactions } from './finished-transactions';
import { intEnv, log, median, ranOn, runBench, writeDocsSection } from './harness';

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

async function main() {
  const infra = await startInfra(log);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const stacks: Stack[] = [];
  try {
    for (const label of ['empty', 'full']) stacks.push(await startStack(label, infra, runId));
    const [empty, full] = stacks;
    const warmUp = Math.min(200, SAGAS);
    log(`warm-up: ${warmUp} sagas on each`);
    for (const stack of stacks) await runSagas(stack, warmUp, CONCURRENCY);

    const [{ events }] = (
      await empty.db.query<{ events: number }>(`SELECT round(count(*)::numeric / count(DISTINCT tx_id))::int AS events FROM events`)
    ).rows;
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
    const size = (await full.db.query<{ size: string }>(`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`)).rows[0].size;
    log(`inserted in ${((Date.now() - inserting) / 1000).toFixed(0)} s; database ${size}`);
    await runSagas(full, warmUp, CONCURRENCY);

    const figures = new Map<Stack, number[]>(stacks.map((stack) => [stack, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const stack of stacks) {
        figures.get(stack)!.push(await runSagas(stack, SAGAS, CONCURRENCY));
        log(`round ${round}, ${stack.label}: ${figures.get(stack)!.at(-1)!.toFixed(1)} sagas/s`);
      }
    }
    const [emptyRate, fullRate] = stacks.map((stack) => median(figures.get(stack)!));
    const ratio = fullRate / emptyRate;
    log(
      `empty: ${emptyRate.toFixed(1)} sagas/s; with ${FINISHED.toLocaleString('en')} finished: ${fullRate.toFixed(1)} sagas/s; ratio ${(ratio * 100).toFixed(1)} %`,
    );
    writeReport({ empty: emptyRate, full: fullRate, ratio, events, size, rounds: [...figures.values()] });
    if (ratio < 0.9) process.exitCode = 1;
  } finally {
    for (const stack of stacks) await stack.stop().catch((error: Error) => log(`cleaning up ${stack.label}: ${error.message}`));
    await stopInfra(infra.started);
  }
}

/** Replaces this benchmark's section of docs/benchmarks.md (other benchmarks have their own). */
function writeReport(result: { empty: number; full: number; ratio: number; events: number; size: string; rounds: number[][] }) {
  writeDocsSection('retention', [
    ranOn(),
    `Node.js ${process.version}, local PostgreSQL and Kafka shared by both coordinators. ${SAGAS} sagas of ${DEFINITION.steps.length} steps per round,`,
    `${CONCURRENCY} in flight, ${ROUNDS} rounds each, alternating; the finished transactions carry ${DEFINITION.steps.length} steps and ${result.events}`,
    `history events each (that database: ${result.size}).`,
    '',
    '| Database | Sagas per second (median) | Rounds |',
    '|---|---|---|',
    `| empty | ${result.empty.toFixed(1)} | ${result.rounds[0].map((r) => r.toFixed(1)).join(', ')} |`,
    `| ${FINISHED.toLocaleString('en')} finished transactions | ${result.full.toFixed(1)} | ${result.rounds[1].map((r) => r.toFixed(1)).join(', ')} |`,
    `| ratio | ${(result.ratio * 100).toFixed(1)} % (must be at least 90 %) | |`,
  ]);
}

runBench(main);
