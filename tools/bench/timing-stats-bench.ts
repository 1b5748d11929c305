import { randomBytes } from 'crypto';
import { loadavg } from 'os';
import { setTimeout as sleep } from 'timers/promises';
import { startInfra, stopInfra } from '../infra/infra';
import { runSagas, Stack, STACK_DEFINITION, STACK_SCHEMA, startStack } from './bench-stack';
import { insertFinishedTransactions } from './finished-transactions';
import { intEnv, log, percentile, ranOn, runBench, writeDocsSection } from './harness';

/**
 * `npm run bench:timings`: the overview's figures on a coordinator with BENCH_FINISHED
 * (1,000,000) finished transactions, seeded as the retention bench seeds them, and a full
 * timing rollup. BENCH_SAGAS real sagas over BENCH_DEFINITIONS definitions fill the rollup's
 * rows; those rows are then copied to every bucket the rollup keeps, as continuous traffic
 * would leave them. Prints how long GET /stats/definitions takes per
 * window and GET /transactions/overview (both from the rollup), with their queries' plans, and
 * how long the rollup took to add the sagas' ends; writes them to docs/benchmarks.md.
 */
const FINISHED = intEnv('BENCH_FINISHED', 1_000_000);
const DEFINITIONS = intEnv('BENCH_DEFINITIONS', 10);
const SAGAS = intEnv('BENCH_SAGAS', 1000);
const REQUESTS = intEnv('BENCH_REQUESTS', 100);
const CONCURRENCY = 50;
const WINDOWS = [15, 60, 240, 1440];

const names = Array.from({ length: DEFINITIONS }, (_, i) => (i === 0 ? STACK_DEFINITION.name : `${STACK_DEFINITION.name}-${i + 1}`));

/** Milliseconds each of `count` GETs of `path` takes, answer read, sorted. */
async function timed({ api }: Stack, path: string, count: number): Promise<number[]> {
  await api.get(path); // warm-up
  const figures: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await api.get(path);
    figures.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return figures.sort((a, b) => a - b);
}

const ms = (sorted: number[], p: number) => percentile(sorted, p).toFixed(1);

async function main() {
  const infra = await startInfra(log);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  let stack: Stack | undefined;
  try {
    stack = await startStack('timings', infra, runId);
    const { db, api } = stack;
    for (const name of names.slice(1)) await api.post('/definitions', { ...STACK_DEFINITION, name });

    log(`running ${SAGAS} sagas over ${DEFINITIONS} definitions`);
    const rate = await runSagas(stack, SAGAS, CONCURRENCY, (n) => ({ definition: names[n % DEFINITIONS], input: { n } }));
    const lastEnd = Date.now();
    while (Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM ended_transactions')).rows[0].n) > 0) await sleep(50);
    const lagMs = Date.now() - lastEnd;
    log(`${rate.toFixed(1)} sagas/s; the rollup had every end ${lagMs} ms after the last one`);

    log(`inserting ${FINISHED} finished transactions`);
    await insertFinishedTransactions(
      stack.databaseUrl,
      {
        schema: STACK_SCHEMA,
        definition: { name: STACK_DEFINITION.name, version: 1, steps: STACK_DEFINITION.steps },
        count: FINISHED,
        eventsPerTransaction: 2,
        finishedAgoMs: 60_000,
        seed: runId,
      },
      log,
    );
    // Each series' busiest minute, copied to every bucket of every width the rollup keeps (48 of each).
    await db.query(`WITH template AS (
        SELECT DISTINCT ON (definition_name, step_id, phase) * FROM timing_rollup WHERE bucket_seconds = 60
        ORDER BY definition_name, step_id, phase, count DESC)
      INSERT INTO timing_rollup
      SELECT w.seconds, b, t.definition_name, t.step_id, t.phase, t.count, t.failures, t.needs_operator, t.retries,
        t.duration_hist, t.duration_min, t.duration_max, t.total_hist, t.total_min, t.total_max
      FROM template t CROSS JOIN (VALUES (60), (600), (3600)) w (seconds)
        CROSS JOIN LATERAL generate_series(date_trunc('hour', now()) - w.seconds * interval '48 seconds', now(), w.seconds * interval '1 second') b
      ON CONFLICT DO NOTHING`);
    await db.query('VACUUM ANALYZE transactions, timers, events, timing_rollup');
    const {
      rows: [rollup],
    } = await db.query<{
      rows: number;
      series: number;
      size: string;
    }>(`SELECT count(*)::int AS rows, count(DISTINCT (definition_name, step_id, phase))::int AS series,
      pg_size_pretty(pg_total_relation_size('timing_rollup')) AS size FROM timing_rollup`);
    log(`timing_rollup: ${rollup.rows} rows, ${rollup.series} series, ${rollup.size}`);

    // Other work on the machine slows every figure alike: the report says how busy it was.
    const load = loadavg()[0].toFixed(1);
    const results: { name: string; figures: number[] }[] = [];
    for (const window of WINDOWS) {
      results.push({
        name: `GET /stats/definitions?windowMinutes=${window}`,
        figures: await timed(stack, `/stats/definitions?windowMinutes=${window}`, REQUESTS),
      });
      log(`${results.at(-1)!.name}: p50 ${ms(results.at(-1)!.figures, 0.5)} ms, p95 ${ms(results.at(-1)!.figures, 0.95)} ms`);
    }
    for (const window of [60, 1440]) {
      results.push({
        name: `GET /transactions/overview?windowMinutes=${window}`,
        figures: await timed(stack, `/transactions/overview?windowMinutes=${window}`, REQUESTS),
      });
      log(`${results.at(-1)!.name}: p50 ${ms(results.at(-1)!.figures, 0.5)} ms, p95 ${ms(results.at(-1)!.figures, 0.95)} ms`);
    }
    // The statistics' rollup read, and the overview's three queries (its rollup read, the live count, the stuck list).
    const explained = async (sql: string) =>
      (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`)).rows.map((r) => r['QUERY PLAN']);
    const plan = [
      ...(await explained(`SELECT * FROM timing_rollup WHERE bucket_seconds = 3600
        AND bucket_start >= date_trunc('hour', now()) - interval '23 hours' AND (NULL::text IS NULL OR definition_name = NULL)
        ORDER BY bucket_start`)),
      '',
      ...(await explained(`SELECT bucket_start, sum(count) FROM timing_rollup WHERE bucket_seconds = 3600
        AND bucket_start >= date_trunc('hour', now()) - interval '23 hours' AND step_id = '' GROUP BY 1 ORDER BY 1`)),
      '',
      ...(await explained(`SELECT status, count(*) FROM transactions WHERE status IN ('running', 'compensating') GROUP BY status`)),
      '',
      ...(await explained(`SELECT id FROM transactions t WHERE t.status IN ('running', 'compensating') AND t.paused IS NULL
        AND t.updated_at < now() - interval '5 minutes' ORDER BY t.updated_at LIMIT 50`)),
    ];
    log(plan.join('\n'));
    writeDocsSection('timings', [
      ranOn(),
      `Node.js ${process.version}, local PostgreSQL and Kafka. ${FINISHED.toLocaleString('en')} finished transactions in the tables; the timing rollup`,
      `full (every bucket it keeps): ${rollup.rows.toLocaleString('en')} rows (${rollup.series} series: ${DEFINITIONS} definitions × the transaction and its 4 steps), ${rollup.size}.`,
      `${SAGAS} real sagas first (${rate.toFixed(1)} sagas/s): the rollup had all their ends ${lagMs} ms after the last one ended.`,
      `${REQUESTS} requests each, over HTTP from this process; load average ${load} when they began.`,
      '',
      '| Request | p50 (ms) | p95 (ms) |',
      '|---|---|---|',
      ...results.map((r) => `| \`${r.name}\` | ${ms(r.figures, 0.5)} | ${ms(r.figures, 0.95)} |`),
      '',
      '```',
      ...plan,
      '```',
    ]);
  } finally {
    await stack?.stop().catch((error: Error) => log(`cleaning up: ${error.message}`));
    await stopInfra(infra.started);
  }
}

runBench(main);
