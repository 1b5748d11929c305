import { randomBytes } from 'crypto';
import { listQuery } from '../../apps/coordinator/src/transactions/persistence/transaction.repository';
import { startInfra, stopInfra } from '../infra/infra';
import { runSagas, Stack, STACK_DEFINITION, STACK_SCHEMA, startStack } from './bench-stack';
import { insertFinishedTransactions } from './finished-transactions';
import { intEnv, log, percentile, ranOn, runBench, writeDocsSection } from './harness';

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
const CUSTOMERS = 1000;
const REGIONS = 4;
const LIMIT = 50;

const TAGS = `jsonb_build_object('orderId', 'o-' || g, 'customer', 'c-' || (g % ${CUSTOMERS}), 'region', 'r-' || (g % ${REGIONS}))`;

const random = (n: number) => 1 + Math.floor(Math.random() * n);

/** The searches: a name, how many rows match, and the `tag` values of one search. */
const SEARCHES_MEASURED: { name: string; matches: string; tags: () => string[] }[] = [
  { name: 'one orderId', matches: '1', tags: () => [`orderId:o-${random(FINISHED)}`] },
  {
    name: 'orderId and customer',
    matches: '1',
    tags: () => {
      const g = random(FINISHED);
      return [`orderId:o-${g}`, `customer:c-${g % CUSTOMERS}`];
    },
  },
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

/** Milliseconds one GET of `path` with these `tag` filters takes, answer read. */
async function timed({ api }: Stack, path: string, tags: string[], limit?: number): Promise<number> {
  const query = [...tags.map((t) => `tag=${encodeURIComponent(t)}`), ...(limit ? [`limit=${limit}`] : [])].join('&');
  const started = process.hrtime.bigint();
  await api.get(`${path}?${query}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Updates and HOT updates of `transactions` while `count` sagas run start to end. */
async function hotUpdates(stack: Stack, count: number, tagged: boolean): Promise<{ updates: number; hot: number }> {
  const counters = async () => {
    // Statistics reach the shared counters when a backend's transaction ends, at most a second late.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const { rows } = await stack.db.query<{
      updates: string;
      hot: string;
    }>(`SELECT n_tup_upd AS updates, n_tup_hot_upd AS hot FROM pg_stat_user_tables
      WHERE schemaname = '${STACK_SCHEMA}' AND relname = 'transactions'`);
    return { updates: Number(rows[0].updates), hot: Number(rows[0].hot) };
  };
  const before = await counters();
  await runSagas(stack, count, CONCURRENCY, (n) => ({
    definition: STACK_DEFINITION.name,
    input: { n },
    tags: tagged ? { orderId: `hot-${n}-${randomBytes(4).toString('hex')}`, customer: `c-${n % CUSTOMERS}` } : undefined,
  }));
  const after = await counters();
  return { updates: after.updates - before.updates, hot: after.hot - before.hot };
}

async function main() {
  const infra = await startInfra(log);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  let stack: Stack | undefined;
  try {
    stack = await startStack('tags', infra, runId);
    const { db } = stack;
    log(`inserting ${FINISHED} finished transactions with tags`);
    const inserting = Date.now();
    const definition = { name: STACK_DEFINITION.name, version: 1, steps: STACK_DEFINITION.steps };
    await insertFinishedTransactions(
      stack.databaseUrl,
      { schema: STACK_SCHEMA, definition, count: FINISHED, eventsPerTransaction: 2, finishedAgoMs: 60_000, seed: runId, tags: TAGS },
      log,
    );
    await db.query('VACUUM ANALYZE transactions, timers, events');
    const size = (await db.query<{ size: string }>(`SELECT pg_size_pretty(pg_relation_size('transactions_tags')) AS size`)).rows[0].size;
    log(`inserted in ${((Date.now() - inserting) / 1000).toFixed(0)} s; index transactions_tags: ${size}`);

    const timings: Timing[] = [];
    const plans: string[] = [];
    for (const search of SEARCHES_MEASURED) {
      const timing: Timing = { name: search.name, matches: search.matches, list: [], counts: [] };
      await timed(stack, '/transactions', search.tags(), LIMIT); // warm-up
      for (let i = 0; i < SEARCHES; i++) {
        timing.list.push(await timed(stack, '/transactions', search.tags(), LIMIT));
        timing.counts.push(await timed(stack, '/transactions/counts', search.tags()));
      }
      timings.push(timing);
      const { text, params } = listQuery({ tag: search.tags() }, LIMIT + 1);
      const plan = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, params)).rows.map(
        (r) => r['QUERY PLAN'],
      );
      plans.push(`-- ${search.name} (${search.matches} match)\n${plan.join('\n')}`);
      log(
        `${search.name}: list p50 ${ms(timing.list, 0.5)} ms, p95 ${ms(timing.list, 0.95)} ms; counts p50 ${ms(timing.counts, 0.5)} ms, p95 ${ms(timing.counts, 0.95)} ms`,
      );
      log(plans.at(-1)!);
    }

    log(`HOT updates: ${SAGAS} sagas without tags, then ${SAGAS} with`);
    const untagged = await hotUpdates(stack, SAGAS, false);
    const tagged = await hotUpdates(stack, SAGAS, true);
    for (const [label, h] of [
      ['without tags', untagged],
      ['with tags', tagged],
    ] as const) {
      log(`${label}: ${h.updates} updates of transactions, ${h.hot} HOT (${((h.hot / h.updates) * 100).toFixed(1)} %)`);
    }
    writeReport({ timings, plans, size, untagged, tagged });
  } finally {
    await stack?.stop().catch((error: Error) => log(`cleaning up: ${error.message}`));
    await stopInfra(infra.started);
  }
}

/** The figure at quantile `p`, in milliseconds to a tenth. */
const ms = (figures: number[], p: number) =>
  percentile(
    [...figures].sort((a, b) => a - b),
    p,
  ).toFixed(1);

function writeReport(result: {
  timings: Timing[];
  plans: string[];
  size: string;
  untagged: { updates: number; hot: number };
  tagged: { updates: number; hot: number };
}) {
  const hot = (h: { updates: number; hot: number }) => `${h.hot} of ${h.updates} (${((h.hot / h.updates) * 100).toFixed(1)} %)`;
  writeDocsSection('tags', [
    ranOn(),
    `Node.js ${process.version}, local PostgreSQL and Kafka. ${FINISHED.toLocaleString('en')} finished transactions, each tagged`,
    `\`orderId\` (unique), \`customer\` (one of ${CUSTOMERS}), \`region\` (one of ${REGIONS}); index \`transactions_tags\`: ${result.size}.`,
    `${SEARCHES} searches each, over HTTP from this process (page of ${LIMIT}).`,
    '',
    '| Search | Matching | List p50 / p95 (ms) | Counts p50 / p95 (ms) |',
    '|---|---|---|---|',
    ...result.timings.map(
      (t) =>
        `| ${t.name} | ${Number(t.matches).toLocaleString('en')} | ${ms(t.list, 0.5)} / ${ms(t.list, 0.95)} | ${ms(t.counts, 0.5)} / ${ms(t.counts, 0.95)} |`,
    ),
    '',
    `Updates of \`transactions\` that stayed HOT while ${SAGAS} sagas ran: without tags ${hot(result.untagged)}, with tags ${hot(result.tagged)}.`,
    '',
    '```',
    ...result.plans,
    '```',
  ]);
}

runBench(main);
