import { randomBytes } from 'crypto';
import { cpus } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { listQuery } from '../../apps/coordinator/src/transactions/persistence/transaction.repository';
import { startInfra, stopInfra } from '../infra/infra';
import { REPO_ROOT } from '../infra/paths';
import { dropDatabase, ensureDatabase, withDatabase } from '../infra/postgres';
import { startBenchParticipant } from './bench-participant';
import { insertFinishedTransactions } from './finished-transactions';
import { Api, BenchApp, deleteTopics, EndWatcher, intEnv, log, percentile, replaceSection, startBenchApp } from './harness';
import { orderSaga } from './order-saga';

/**
 * `npm run bench:tags`: tag search (GET /transactions?tag=…, and counts) on a coordinator
 * with BENCH_FINISHED (1,000,000) finished transactions, seeded as the retention bench seeds
 * them, each tagged with a unique `orderId`, one of 1,000 `customer`s and one of 4 `region`s.
 * Prints each query's latency over the API and its plan, and how many updates of
 * `transactions` stayed HOT while sagas with and without tags ran; writes them to
 * docs/benchmarks.md.
 */
const FINISHED = intEnv('BENCH_FINISHED', 1_000_000);
const SEARCHES = intEnv('BENCH_SEARCHES', 100);
const SAGAS = intEnv('BENCH_SAGAS', 500);
const CONCURRENCY = 50;
const SCHEMA = 'ordo_bench';
const PARTICIPANT = 'bench';
const CUSTOMERS = 1000;
const REGIONS = 4;
const LIMIT = 50;

const DEFINITION = orderSaga('bench-order', {
  shop: PARTICIPANT,
  timeoutMs: 60_000,
  defaults: { timeoutMs: 10_000, retry: { maxAttempts: 5, initialDelayMs: 100, multiplier: 2, maxDelayMs: 2000 } },
});

const TAGS = `jsonb_build_object('orderId', 'o-' || g, 'customer', 'c-' || (g % ${CUSTOMERS}), 'region', 'r-' || (g % ${REGIONS}))`;

const random = (n: number) => 1 + Math.floor(Math.random() * n);

/** The searches: a name, how many rows match, and the `tag` values of one search. */
const SEARCHES_MEASURED: { name: string; matches: string; tags: () => string[] }[] = [
  { name: 'one orderId', matches: '1', tags: () => [`orderId:o-${random(FINISHED)}`] },
  { name: 'orderId and customer', matches: '1', tags: () => { const g = random(FINISHED); return [`orderId:o-${g}`, `customer:c-${g % CUSTOMERS}`]; } },
  { name: 'one customer', matches: `${FINISHED / CUSTOMERS}`, tags: () => [`customer:c-${random(CUSTOMERS) - 1}`] },
  { name: 'one region', matches: `${FINISHED / REGIONS}`, tags: () => [`region:r-${random(REGIONS) - 1}`] },
  { name: 'no match', matches: '0', tags: () => [`orderId:o-none-${random(FINISHED)}`] },
];

interface Timing {
  name: string;
  matches: string;
  list: number[];
  counts: number[];
}

async function get(base: string, key: string, path: string, tags: string[], limit?: number): Promise<number> {
  const query = [...tags.map((t) => `tag=${encodeURIComponent(t)}`), ...(limit ? [`limit=${limit}`] : [])].join('&');
  const started = process.hrtime.bigint();
  const response = await fetch(`${base}${path}?${query}`, { headers: { authorization: `Bearer ${key}` } });
  await response.text();
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Updates and HOT updates of `transactions` while `count` sagas run start to end. */
async function hotUpdates(db: Client, api: Api, count: number, tagged: boolean): Promise<{ updates: number; hot: number }> {
  const counters = async () => {
    // Statistics reach the shared counters when a backend's transaction ends, at most a second late.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const { rows } = await db.query(`SELECT n_tup_upd AS updates, n_tup_hot_upd AS hot FROM pg_stat_user_tables
      WHERE schemaname = '${SCHEMA}' AND relname = 'transactions'`);
    return { updates: Number(rows[0].updates), hot: Number(rows[0].hot) };
  };
  const before = await counters();
  const watcher = new EndWatcher(db);
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) {
          const n = next++;
          const tags = tagged ? { orderId: `hot-${n}-${randomBytes(4).toString('hex')}`, customer: `c-${n % CUSTOMERS}` } : undefined;
          const { id } = await api.post<{ id: string }>('/transactions', { definition: DEFINITION.name, input: { n }, tags });
          await watcher.ended(id);
        }
      }),
    );
  } finally {
    await watcher.close();
  }
  const after = await counters();
  return { updates: after.updates - before.updates, hot: after.hot - before.hot };
}

async function main() {
  const infra = await startInfra(log);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `ordo_bench_${runId}_tags`;
  const topicPrefix = `bench-${runId}-tags.`;
  const apiKey = randomBytes(16).toString('hex');
  await ensureDatabase(infra.databaseUrl, database);
  const databaseUrl = withDatabase(infra.databaseUrl, database);
  const participant = await startBenchParticipant({ name: PARTICIPANT, brokers: infra.kafkaBrokers, topicPrefix, partitions: 8 });
  const db = new Client({ connectionString: databaseUrl });
  let coordinator: BenchApp | undefined;
  try {
    coordinator = await startBenchApp('coordinator', {
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: SCHEMA,
      KAFKA_BROKERS: infra.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      KAFKA_TOPIC_PARTITIONS: '8',
      ORDO_API_KEYS: `bench:admin:${apiKey}`,
      RETENTION_MAX_AGE: 'off',
    });
    await db.connect();
    await db.query(`SET search_path = ${SCHEMA}`);
    const base = `http://127.0.0.1:${coordinator.port}/api/v1`;
    const api = new Api(base, apiKey);
    await api.post('/definitions', DEFINITION);

    log(`inserting ${FINISHED} finished transactions with tags`);
    const inserting = Date.now();
    const definition = { name: DEFINITION.name, version: 1, steps: DEFINITION.steps };
    await insertFinishedTransactions(
      databaseUrl,
      { schema: SCHEMA, definition, count: FINISHED, eventsPerTransaction: 2, finishedAgoMs: 60_000, seed: runId, tags: TAGS },
      log,
    );
    await db.query('VACUUM ANALYZE transactions, timers, events');
    const size = (await db.query(`SELECT pg_size_pretty(pg_relation_size('transactions_tags')) AS size`)).rows[0].size as string;
    log(`inserted in ${((Date.now() - inserting) / 1000).toFixed(0)} s; index transactions_tags: ${size}`);

    const timings: Timing[] = [];
    const plans: string[] = [];
    for (const search of SEARCHES_MEASURED) {
      const timing: Timing = { name: search.name, matches: search.matches, list: [], counts: [] };
      await get(base, apiKey, '/transactions', search.tags(), LIMIT); // warm-up
      for (let i = 0; i < SEARCHES; i++) {
        timing.list.push(await get(base, apiKey, '/transactions', search.tags(), LIMIT));
        timing.counts.push(await get(base, apiKey, '/transactions/counts', search.tags()));
      }
      timings.push(timing);
      const { text, params } = listQuery({ tag: search.tags() }, LIMIT + 1);
      const plan = (await db.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, params)).rows.map((r) => r['QUERY PLAN'] as string);
      plans.push(`-- ${search.name} (${search.matches} match)\n${plan.join('\n')}`);
      log(`${search.name}: list p50 ${percentile(sort(timing.list), 0.5).toFixed(1)} ms, p95 ${percentile(sort(timing.list), 0.95).toFixed(1)} ms; ` +
        `counts p50 ${percentile(sort(timing.counts), 0.5).toFixed(1)} ms, p95 ${percentile(sort(timing.counts), 0.95).toFixed(1)} ms`);
      log(plans.at(-1)!);
    }

    log(`HOT updates: ${SAGAS} sagas without tags, then ${SAGAS} with`);
    const untagged = await hotUpdates(db, api, SAGAS, false);
    const tagged = await hotUpdates(db, api, SAGAS, true);
    for (const [label, h] of [['without tags', untagged], ['with tags', tagged]] as const) {
      log(`${label}: ${h.updates} updates of transactions, ${h.hot} HOT (${((h.hot / h.updates) * 100).toFixed(1)} %)`);
    }
    writeReport({ timings, plans, size, untagged, tagged });
  } finally {
    await db.end().catch(() => undefined);
    await participant.stop().catch(() => undefined);
    await coordinator?.stop();
    await deleteTopics(infra.kafkaBrokers, topicPrefix);
    await dropDatabase(infra.databaseUrl, database);
    await stopInfra(infra.started);
  }
}

const sort = (figures: number[]) => [...figures].sort((a, b) => a - b);

const START = '<!-- bench:tags:start -->';
const END = '<!-- bench:tags:end -->';

function writeReport(result: { timings: Timing[]; plans: string[]; size: string; untagged: { updates: number; hot: number }; tagged: { updates: number; hot: number } }) {
  const file = join(REPO_ROOT, 'docs/benchmarks.md');
  const ms = (figures: number[], p: number) => percentile(sort(figures), p).toFixed(1);
  const hot = (h: { updates: number; hot: number }) => `${h.hot} of ${h.updates} (${((h.hot / h.updates) * 100).toFixed(1)} %)`;
  const section = [
    START,
    `Last run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}),`,
    `Node.js ${process.version}, local PostgreSQL and Kafka. ${FINISHED.toLocaleString('en')} finished transactions, each tagged`,
    `\`orderId\` (unique), \`customer\` (one of ${CUSTOMERS}), \`region\` (one of ${REGIONS}); index \`transactions_tags\`: ${result.size}.`,
    `${SEARCHES} searches each, over HTTP from this process (page of ${LIMIT}).`,
    '',
    '| Search | Matching | List p50 / p95 (ms) | Counts p50 / p95 (ms) |',
    '|---|---|---|---|',
    ...result.timings.map((t) => `| ${t.name} | ${Number(t.matches).toLocaleString('en')} | ${ms(t.list, 0.5)} / ${ms(t.list, 0.95)} | ${ms(t.counts, 0.5)} / ${ms(t.counts, 0.95)} |`),
    '',
    `Updates of \`transactions\` that stayed HOT while ${SAGAS} sagas ran: without tags ${hot(result.untagged)}, with tags ${hot(result.tagged)}.`,
    '',
    '```',
    ...result.plans,
    '```',
    END,
  ].join('\n');
  replaceSection(file, file, START, END, section);
  log(`wrote ${file}`);
}

main().catch((error) => {
  process.stderr.write(`[bench] ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
