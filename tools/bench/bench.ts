import { randomBytes, randomUUID } from 'crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { cpus, loadavg, totalmem } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { APPS, AppName } from '../launcher/apps';
import { Infra, startInfra, stopInfra } from '../infra/infra';
import { REPO_ROOT } from '../infra/paths';
import { dropDatabase, ensureDatabase, findPgBin, withDatabase } from '../infra/postgres';
import { cleanUpOnInterrupt, run, runOrFail, sleep } from '../infra/proc';
import { KafkaFloor, kafkaFloor, SqlFloor, sqlFloor } from './floors';
import { Api, BenchApp, deleteTopics, Ended, EndWatcher, log, replaceSection, startBenchApp } from './harness';

/**
 * `npm run bench`: on one machine in one run, the database's raw write capacity (pgbench's
 * simple-update script) and Ordo's throughput with the real sample participants (and so
 * their barrier): a 2-step saga at saturation and its latency at half that load, the 4-step
 * place-order DAG saga, the 2-participant TCC transfer and 2PC buy-now, with the
 * coordinator's memory and CPU time per transaction. Prints a table and writes
 * bench/results.json and its section of docs/benchmarks.md (or both into --out).
 */

interface Settings {
  scale: 'small' | 'full';
  /** Seconds of each closed-loop measurement (each saturation level, each scenario). */
  seconds: number;
  halfLoadSeconds: number;
  warmUpSeconds: number;
  /** Closed-loop concurrencies tried in turn until throughput stops rising. */
  levels: number[];
  /** At most this many 2PC transactions in flight: prepared transactions hold locks and connections. */
  twoPcConcurrency: number;
  pgbenchScale: number;
  /** Products and accounts the load spreads over, so no hot row serialises it. */
  rows: number;
  /** Sagas timed one at a time for the Kafka floor. */
  floorRounds: number;
  out?: string;
}

const SCALES: Record<Settings['scale'], Omit<Settings, 'scale' | 'out'>> = {
  small: { seconds: 2, halfLoadSeconds: 3, warmUpSeconds: 1, levels: [4, 8], twoPcConcurrency: 4, pgbenchScale: 1, rows: 100, floorRounds: 30 },
  full: { seconds: 15, halfLoadSeconds: 30, warmUpSeconds: 10, levels: [8, 16, 32, 64, 128, 256], twoPcConcurrency: 20, pgbenchScale: 10, rows: 1000, floorRounds: 300 },
};

/** Flags (`--scale=small`) override the environment (BENCH_SCALE=small). */
function settings(argv: string[]): Settings {
  const flags = Object.fromEntries(argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=', 2) as [string, string]));
  const option = (name: string) => flags[name] ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const number = (name: string, fallback: number) => {
    const raw = option(name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!(value > 0)) throw new Error(`--${name} / BENCH_${name.toUpperCase()} must be a positive number, got ${raw}`);
    return value;
  };
  const scale = option('scale') ?? 'full';
  if (scale !== 'small' && scale !== 'full') throw new Error(`--scale / BENCH_SCALE must be small or full, got ${scale}`);
  const base = SCALES[scale];
  const levels = option('concurrency')?.split(',').map(Number) ?? base.levels;
  if (levels.some((n) => !Number.isInteger(n) || n < 2)) throw new Error('--concurrency / BENCH_CONCURRENCY must list whole numbers ≥ 2');
  const seconds = number('seconds', base.seconds);
  return {
    ...base,
    scale,
    seconds,
    halfLoadSeconds: option('seconds') ? 2 * seconds : base.halfLoadSeconds,
    levels,
    out: option('out'),
  };
}

// ---- the workloads: the committed sample definitions, and a 2-step saga of their steps ----

const sample = (path: string) => JSON.parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as { name: string; defaults: object; steps: object[] };
const PLACE_ORDER = sample('apps/order/place-order.saga.json');
const TRANSFER = sample('apps/payment/transfer.tcc.json');
const BUY_NOW = sample('apps/inventory/buy-now.2pc.json');
/** buy-now's two steps as a saga: reserve the stock, then charge; each undone by its compensation. */
const SAGA2 = {
  name: 'bench-saga2',
  type: 'saga',
  timeoutMs: 30_000,
  defaults: PLACE_ORDER.defaults,
  steps: [
    { id: 'reserve-stock', participant: 'inventory', action: 'reserve', compensation: 'release',
      input: { sku: '$.input.sku', qty: '$.input.qty', orderId: '$.input.orderId' } },
    { id: 'charge', participant: 'payment', action: 'charge', compensation: 'refund', dependsOn: ['reserve-stock'],
      input: { accountId: '$.input.accountId', amount: '$.input.amount', orderId: '$.input.orderId' } },
  ],
};

interface Workload {
  definition: string;
  input(): object;
}

// ---- processes: CPU time and memory from /proc ----

let clockTicks = 100;

/** CPU time (user + system) of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "pid (comm) ": state is field 3, utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** VmRSS / VmHWM (peak) of a process, in MB. */
function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** Busy CPU time of the whole machine, in ms (all cores). */
function machineBusyMs(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return ((user + nice + system + irq + softirq + steal) * 1000) / clockTicks;
}

/**
 * What else runs, by kind: the database and the broker (where the rest of the CPU goes), and
 * Ordo apps, tools and test runs that are not this run's (another test suite or benchmark
 * competing for the cores, which the report must mention). Kind → pid → CPU ms so far.
 */
type OtherKind = 'PostgreSQL' | 'Kafka' | 'foreign';

function otherProcesses(ours: Set<number>): Map<OtherKind, Map<number, number>> {
  const found = new Map<OtherKind, Map<number, number>>([['PostgreSQL', new Map()], ['Kafka', new Map()], ['foreign', new Map()]]);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || ours.has(pid) || pid === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const kind: OtherKind | null = args[0].startsWith('postgres') || args[0].endsWith('/postgres')
        ? 'PostgreSQL'
        : args.includes('kafka.Kafka')
          ? 'Kafka'
          : args.some((a) => /dist\/(apps|tools)\/\w+\//.test(a)) || args[1]?.endsWith('.bin/jest')
            ? 'foreign'
            : null;
      if (kind) found.get(kind)!.set(pid, cpuMs(pid));
    } catch {
      // It ended meanwhile.
    }
  }
  return found;
}

interface Usage {
  /** Coordinator CPU time per finished transaction, ms. */
  cpuMsPerTx: number;
  /** Highest coordinator RSS sampled during the measurement, MB. */
  rssMb: number;
  /** Cores busy on average, by process: where the CPU time went. */
  cores: Record<string, number>;
  /** Cores the other Ordo processes (see otherProcesses) kept busy on average: contention. */
  others: number;
}

// ---- the system under test ----

interface System {
  api: Api;
  db: Client;
  apps: Record<AppName, BenchApp>;
}

async function startSystem(infra: Infra, database: string, topicPrefix: string, rows: number, apps: BenchApp[]): Promise<System> {
  const databaseUrl = withDatabase(infra.databaseUrl, database);
  const apiKey = randomBytes(16).toString('hex');
  const shared = { DATABASE_URL: databaseUrl, KAFKA_BROKERS: infra.kafkaBrokers, KAFKA_TOPIC_PREFIX: topicPrefix, KAFKA_TOPIC_PARTITIONS: '8' };
  const schema = (name: AppName) => APPS.find((a) => a.name === name)!.schema;
  // The bench's own requests must never meet the per-credential rate limit.
  const coordinator = await startBenchApp('coordinator', { ...shared, DATABASE_SCHEMA: schema('coordinator'), ORDO_API_KEYS: `bench:admin:${apiKey}`, RATE_LIMIT_PER_MINUTE: '10000000' });
  apps.push(coordinator);
  const participantEnv = { ...shared, ORDO_COORDINATOR_URL: `http://127.0.0.1:${coordinator.port}`, ORDO_COORDINATOR_API_KEY: apiKey };
  const participants = await Promise.all(
    (['order', 'inventory', 'payment'] as const).map(async (name) => {
      const app = await startBenchApp(name, { ...participantEnv, DATABASE_SCHEMA: schema(name) });
      apps.push(app);
      return app;
    }),
  );
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(`SET search_path = ${schema('coordinator')}`);
  const api = new Api(`http://127.0.0.1:${coordinator.port}/api/v1`, apiKey);
  for (const definition of [SAGA2, PLACE_ORDER, TRANSFER, BUY_NOW]) await api.post('/definitions', definition);
  // Stock and money enough for any run: no transaction is refused for want of them.
  await db.query(`INSERT INTO inventory.products (sku, name, stock) SELECT 'B-' || n, 'bench', 1000000000 FROM generate_series(1, $1) n`, [rows]);
  await db.query(`INSERT INTO payment.accounts (id, owner, balance) SELECT 'b-' || n, 'bench', 1000000000000 FROM generate_series(1, $1) n`, [rows]);
  const [order, inventory, payment] = participants;
  return { api, db, apps: { coordinator, order, inventory, payment } };
}

function workloads(rows: number): Record<'saga2' | 'dag4' | 'tcc' | 'twoPc', Workload> {
  const pick = () => 1 + Math.floor(Math.random() * rows);
  const order = () => ({ orderId: randomUUID(), sku: `B-${pick()}`, qty: 1, accountId: `b-${pick()}`, amount: 1 });
  return {
    saga2: { definition: SAGA2.name, input: order },
    dag4: { definition: PLACE_ORDER.name, input: () => ({ customer: 'bench', ...order() }) },
    tcc: {
      definition: TRANSFER.name,
      input: () => {
        const from = pick();
        return { from: `b-${from}`, to: `b-${(from % rows) + 1}`, amount: 1 };
      },
    },
    twoPc: { definition: BUY_NOW.name, input: order },
  };
}

/** Runs `work`, sampling the coordinator's RSS and every process's CPU time around it. */
async function metered<T extends { count: number }>(system: System, work: () => Promise<T>): Promise<T & Usage> {
  const pids = Object.values(system.apps).map((app) => [app.name, app.pid] as const);
  const coordinator = system.apps.coordinator.pid;
  let rssMb = memoryMb(coordinator, 'VmRSS');
  const ours = new Set(pids.map(([, pid]) => pid));
  // CPU time of each other process when first seen (0: it started during the measurement) and when last seen.
  const others = new Map<number, { kind: OtherKind; first: number; last: number }>();
  const sample = (first: boolean) => {
    for (const [kind, pids] of otherProcesses(ours)) {
      for (const [pid, ms] of pids) others.set(pid, { kind, first: others.get(pid)?.first ?? (first ? ms : 0), last: ms });
    }
  };
  sample(true);
  const sampler = setInterval(() => {
    rssMb = Math.max(rssMb, memoryMb(coordinator, 'VmRSS'));
    sample(false);
  }, 200);
  const before = { at: Date.now(), machine: machineBusyMs(), harness: process.cpuUsage(), apps: pids.map(([, pid]) => cpuMs(pid)) };
  try {
    const result = await work();
    const wallMs = Date.now() - before.at;
    const harness = process.cpuUsage(before.harness);
    const apps = pids.map(([name, pid], i) => [name, cpuMs(pid) - before.apps[i]] as const);
    sample(false);
    const harnessMs = (harness.user + harness.system) / 1000;
    const ownMs = apps.reduce((sum, [, ms]) => sum + ms, harnessMs);
    const msOf = (kind: OtherKind) => [...others.values()].filter((o) => o.kind === kind).reduce((sum, o) => sum + o.last - o.first, 0);
    const [postgresMs, kafkaMs, othersMs] = [msOf('PostgreSQL'), msOf('Kafka'), msOf('foreign')];
    const cores = Object.fromEntries([
      ...apps.map(([name, ms]) => [name, ms / wallMs]),
      ['bench harness', harnessMs / wallMs],
      ['PostgreSQL', postgresMs / wallMs],
      ['Kafka', kafkaMs / wallMs],
      ['kernel and the rest', Math.max(0, machineBusyMs() - before.machine - ownMs - postgresMs - kafkaMs - othersMs) / wallMs],
    ]);
    const coordinatorMs = apps.find(([name]) => name === 'coordinator')![1];
    return {
      ...result,
      cpuMsPerTx: coordinatorMs / Math.max(1, result.count),
      rssMb: Math.max(rssMb, memoryMb(coordinator, 'VmRSS')),
      cores,
      others: othersMs / wallMs,
    };
  } finally {
    clearInterval(sampler);
  }
}

interface Throughput {
  concurrency: number;
  count: number;
  /** Transactions per second from the first start to the last end. */
  rate: number;
  statuses: Record<string, number>;
}

/** Starts one transaction of the workload; resolves at its end, with when its POST was sent. */
async function startAndWait(system: System, watcher: EndWatcher, workload: Workload): Promise<Ended & { sent: number }> {
  const sent = Date.now();
  const { id } = await system.api.post<{ id: string }>('/transactions', { definition: workload.definition, input: workload.input() });
  return { sent, ...(await watcher.ended(id)) };
}

const tally = (statuses: Record<string, number>, status: string) => (statuses[status] = (statuses[status] ?? 0) + 1);

/** Closed loop: `concurrency` clients each start a transaction and wait for its end, for `seconds`. */
async function closedLoop(system: System, workload: Workload, concurrency: number, seconds: number): Promise<Throughput> {
  const watcher = new EndWatcher(system.db);
  const statuses: Record<string, number> = {};
  const started = Date.now();
  const until = started + seconds * 1000;
  let count = 0;
  let last = started;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < until) {
          tally(statuses, (await startAndWait(system, watcher, workload)).status);
          count++;
          last = Date.now();
        }
      }),
    );
  } finally {
    await watcher.close();
  }
  return { concurrency, count, rate: count / ((last - started) / 1000), statuses };
}

interface Latency {
  targetRate: number;
  achievedRate: number;
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
}

/**
 * Open loop: starts transactions at a fixed rate whatever the system's answers, for
 * `seconds`. A transaction's latency runs from its POST being sent to the terminal status
 * the coordinator recorded (its updated_at; client and database share this machine's
 * clock), so how often the bench looks does not count.
 */
async function openLoop(system: System, workload: Workload, rate: number, seconds: number): Promise<Latency> {
  const watcher = new EndWatcher(system.db);
  const total = Math.max(1, Math.round(rate * seconds));
  const ends: Promise<Ended & { sent: number }>[] = [];
  const started = Date.now();
  try {
    for (let n = 0; n < total; n++) {
      const wait = started + (n * 1000) / rate - Date.now();
      if (wait > 0) await sleep(wait);
      ends.push(startAndWait(system, watcher, workload));
    }
    const results = await Promise.all(ends);
    const elapsed = (Date.now() - started) / 1000;
    const sorted = results.map((r) => r.at - r.sent).sort((a, b) => a - b);
    const percentile = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
    const statuses: Record<string, number> = {};
    for (const { status } of results) tally(statuses, status);
    return { targetRate: rate, achievedRate: total / elapsed, count: total, p50: percentile(0.5), p95: percentile(0.95), p99: percentile(0.99), max: sorted.at(-1)!, statuses };
  } finally {
    await watcher.close();
  }
}

/**
 * Raises the closed-loop concurrency level by level until two levels in a row fail to beat
 * the best throughput by 5 % (two, so that one level disturbed by the machine cannot stop the search).
 */
async function saturate(system: System, workload: Workload, settings: Settings) {
  const levels: (Throughput & Usage)[] = [];
  let best: (Throughput & Usage) | undefined;
  let flat = 0;
  for (const concurrency of settings.levels) {
    const level = await metered(system, () => closedLoop(system, workload, concurrency, settings.seconds));
    levels.push(level);
    log(`2-step saga, ${concurrency} in flight: ${level.rate.toFixed(1)} sagas/s`);
    flat = best && level.rate < best.rate * 1.05 ? flat + 1 : 0;
    if (!best || level.rate > best.rate) best = level;
    if (flat === 2) break;
  }
  return { levels, best: best! };
}

// ---- pgbench ----

function pgbenchBinary(): string {
  try {
    const bundled = join(findPgBin(), 'pgbench');
    if (existsSync(bundled)) return bundled;
  } catch {
    // No server binaries (DATABASE_URL set): the client package's pgbench on the PATH.
  }
  return 'pgbench';
}

interface Pgbench {
  clients: number;
  threads: number;
  seconds: number;
  scale: number;
  tps: number;
}

/** pgbench's built-in simple-update script (-N) on a database of its own on the same cluster. */
async function pgbench(infra: Infra, database: string, clients: number, seconds: number, scale: number): Promise<Pgbench> {
  await ensureDatabase(infra.databaseUrl, database);
  const url = withDatabase(infra.databaseUrl, database);
  const bin = pgbenchBinary();
  const threads = Math.min(2, clients);
  try {
    await runOrFail('pgbench -i', bin, ['-i', '-q', '-s', String(scale), url]);
    const { stdout } = await runOrFail('pgbench', bin, ['-N', '-c', String(clients), '-j', String(threads), '-T', String(Math.ceil(seconds)), url]);
    const tps = stdout.match(/^tps = ([\d.]+)/m);
    if (!tps) throw new Error(`no tps in pgbench's output:\n${stdout}`);
    return { clients, threads, seconds: Math.ceil(seconds), scale, tps: Number(tps[1]) };
  } finally {
    await dropDatabase(infra.databaseUrl, database);
  }
}

// ---- the run ----

interface Results {
  at: string;
  scale: Settings['scale'];
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    loadBefore: number[];
    loadAfter: number[];
  };
  pgbench: Pgbench;
  /** What the 2-step saga's messaging and SQL cost on their own, on this machine: limits no code above them can beat. */
  floors: { kafka: KafkaFloor; sql: SqlFloor };
  saga2: {
    /** The saturation search, level by level. */
    levels: { concurrency: number; rate: number }[];
    /** The level with the highest throughput. */
    saturated: Throughput & Usage;
    /** Saturated sagas/s ÷ pgbench TPS. */
    ratio: number;
    halfLoad: Latency & Usage;
    quarterLoad: Latency & Usage;
  };
  dag4: Throughput & Usage;
  tcc: Throughput & Usage;
  twoPc: Throughput & Usage;
  coordinator: { peakRssMb: number };
  /** `limit`: the floor measured in this run that bounds the figure, when there is one. */
  targets: { name: string; target: string; value: string; met: boolean; limit: string }[];
}

async function main() {
  const options = settings(process.argv.slice(2));
  const loadBefore = loadavg();
  const ticks = await run('getconf', ['CLK_TCK']);
  if (ticks.code === 0) clockTicks = Number(ticks.stdout.trim()) || clockTicks;
  const infra = await startInfra(log);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `ordo_bench_${runId}`;
  const topicPrefix = `bench-${runId}.`;
  const apps: BenchApp[] = [];
  let system: System | undefined;
  const cleanUp = cleanUpOnInterrupt('the bench', async () => {
    await system?.db.end().catch(() => undefined);
    for (const app of apps) await app.stop();
    await deleteTopics(infra.kafkaBrokers, topicPrefix);
    await dropDatabase(infra.databaseUrl, database).catch((error: Error) => log(`dropping ${database}: ${error.message}`));
    await stopInfra(infra.started);
  });
  try {
    await ensureDatabase(infra.databaseUrl, database);
    system = await startSystem(infra, database, topicPrefix, options.rows, apps);
    const load = workloads(options.rows);
    // Until V8 has compiled the hot paths and the caches are filled: a cold system's first
    // seconds are several times slower than its steady state.
    log(`warm-up: ${options.warmUpSeconds} s of each workload`);
    for (const workload of Object.values(load)) await closedLoop(system, workload, options.levels[0], options.warmUpSeconds);
    const kafka = await kafkaFloor(infra.kafkaBrokers.split(','), topicPrefix, { rounds: options.floorRounds });
    log(`Kafka floor (4 legs, one saga at a time): p50 ${kafka.p50} ms, p99 ${kafka.p99} ms`);

    const saturation = await saturate(system, load.saga2, options);
    const clients = saturation.best.concurrency;
    const halfLoad = await metered(system, () => openLoop(system!, load.saga2, saturation.best.rate / 2, options.halfLoadSeconds));
    log(`2-step saga at ${halfLoad.targetRate.toFixed(1)}/s: p50 ${halfLoad.p50} ms, p95 ${halfLoad.p95} ms, p99 ${halfLoad.p99} ms`);
    // And at a quarter: how latency falls with load on this machine.
    const quarterLoad = await metered(system, () => openLoop(system!, load.saga2, saturation.best.rate / 4, options.halfLoadSeconds));
    log(`2-step saga at ${quarterLoad.targetRate.toFixed(1)}/s: p50 ${quarterLoad.p50} ms, p95 ${quarterLoad.p95} ms, p99 ${quarterLoad.p99} ms`);
    const measure = async (label: string, workload: Workload, concurrency: number) => {
      const result = await metered(system!, () => closedLoop(system!, workload, concurrency, options.seconds));
      log(`${label}, ${concurrency} in flight: ${result.rate.toFixed(1)} transactions/s`);
      return result;
    };
    const dag4 = await measure('4-step DAG saga', load.dag4, clients);
    const tcc = await measure('TCC transfer', load.tcc, clients);
    const twoPc = await measure('2PC buy-now', load.twoPc, Math.min(clients, options.twoPcConcurrency));
    const peakRssMb = memoryMb(system.apps.coordinator.pid, 'VmHWM');
    // The database's own figures come last: their writes (and the checkpoints they cause)
    // would otherwise slow the Ordo measurements after them.
    log(`pgbench -N, ${clients} clients, ${options.seconds} s`);
    const raw = await pgbench(infra, `${database}_pgbench`, clients, options.seconds, options.pgbenchScale);
    log(`pgbench: ${raw.tps.toFixed(0)} tps`);
    const sql = await sqlFloor(infra.databaseUrl, { clients, seconds: options.seconds, pgbench: pgbenchBinary() });
    log(`SQL floor (a 2-step saga's ${sql.statementsPerSaga} statements by pgbench, ${clients} clients): ${sql.sagasPerSecond.toFixed(0)} sagas/s`);

    const ratio = saturation.best.rate / raw.tps;
    const results: Results = {
      at: new Date().toISOString(),
      scale: options.scale,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        loadBefore,
        loadAfter: loadavg(),
      },
      pgbench: raw,
      floors: { kafka, sql },
      saga2: { levels: saturation.levels.map(({ concurrency, rate }) => ({ concurrency, rate })), saturated: saturation.best, ratio, halfLoad, quarterLoad },
      dag4,
      tcc,
      twoPc,
      coordinator: { peakRssMb },
      targets: [
        { name: '2-step saga ÷ pgbench TPS', target: '≥ 0.5', value: ratio.toFixed(3), met: ratio >= 0.5, limit: `≤ ${(sql.sagasPerSecond / raw.tps).toFixed(3)} (its SQL alone)` },
        { name: 'p50 at half load', target: '≤ 20 ms', value: `${halfLoad.p50} ms`, met: halfLoad.p50 <= 20, limit: `≥ ${kafka.p50} ms (its messaging alone, idle)` },
        { name: 'p99 at half load', target: '≤ 100 ms', value: `${halfLoad.p99} ms`, met: halfLoad.p99 <= 100, limit: `≥ ${kafka.p99} ms (its messaging alone, idle)` },
        { name: 'coordinator peak RSS', target: '≤ 300 MB', value: `${peakRssMb.toFixed(0)} MB`, met: peakRssMb <= 300, limit: '' },
      ],
    };
    const section = report(results);
    process.stdout.write(`\n${section}\n\n`);
    write(results, section, options.out);
  } finally {
    await cleanUp();
  }
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/** The figures as markdown: the printed table and the docs section are the same text. */
function report(r: Results): string {
  const rate = (n: number) => n.toFixed(1);
  const others = (u: Usage) => `${u.others.toFixed(2)} cores`;
  const busy = (u: Usage) => Object.values(u.cores).reduce((sum, c) => sum + c, 0).toFixed(2);
  const row = (name: string, t: Throughput & Usage, unit: string) =>
    `| ${name} | ${t.concurrency} | ${rate(t.rate)} ${unit}/s | ${t.cpuMsPerTx.toFixed(2)} ms | ${t.rssMb.toFixed(0)} MB | ${listCounts(t.statuses)} | ${others(t)} |`;
  const { machine: m, saga2: s, floors: f } = r;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
  const measured = [s.saturated, s.halfLoad, s.quarterLoad, r.dag4, r.tcc, r.twoPc];
  return [
    START,
    `Last run ${r.at.slice(0, 16).replace('T', ' ')} UTC, scale \`${r.scale}\`, on ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB,`,
    `Node.js ${m.node}; PostgreSQL, Kafka, the coordinator, the three sample participants and the load generator all on this`,
    `machine. Load average (1, 5, 15 min) before the run: ${load(m.loadBefore)}; after: ${load(m.loadAfter)}.`,
    measured.some((u) => u.others >= 0.05)
      ? '**Contended:** another test run or benchmark shared the cores during some measurements (the last column: the cores its Ordo processes and Jest kept busy, its own PostgreSQL and Kafka not counted), so those figures are low.'
      : 'No other Ordo process or test run shared the machine while measuring.',
    '',
    `pgbench \`-N\` (simple update), scale ${r.pgbench.scale}, ${r.pgbench.clients} clients, ${r.pgbench.threads} threads, ${r.pgbench.seconds} s: **${r.pgbench.tps.toFixed(0)} TPS**.`,
    '',
    '| Workload | In flight | Throughput | Coordinator CPU per transaction | Coordinator RSS (max) | Ended | CPU of other Ordo processes |',
    '|---|---|---|---|---|---|---|',
    row('2-step saga (reserve → charge), saturated', s.saturated, 'sagas'),
    row('4-step DAG saga (place-order)', r.dag4, 'sagas'),
    row('TCC transfer (2 participants)', r.tcc, 'transfers'),
    row('2PC buy-now (2 participants)', r.twoPc, 'transactions'),
    '',
    `Saturation search (2-step saga, closed loop): ${s.levels.map((l) => `${l.concurrency} in flight ${rate(l.rate)}/s`).join('; ')}.`,
    `Sagas/s ÷ pgbench TPS: **${s.ratio.toFixed(3)}**.`,
    '',
    `Latency of the 2-step saga at half that load (open loop, ${rate(s.halfLoad.targetRate)}/s offered, ${rate(s.halfLoad.achievedRate)}/s achieved, ${s.halfLoad.count} sagas, ${listCounts(s.halfLoad.statuses)};`,
    `coordinator CPU ${s.halfLoad.cpuMsPerTx.toFixed(2)} ms per saga; all processes kept ${busy(s.halfLoad)} of the ${m.cpus} cores busy; other Ordo processes: ${others(s.halfLoad)}):`,
    `p50 **${s.halfLoad.p50} ms**, p95 **${s.halfLoad.p95} ms**, p99 **${s.halfLoad.p99} ms**, max ${s.halfLoad.max} ms.`,
    `At a quarter of that load (${rate(s.quarterLoad.targetRate)}/s offered, ${s.quarterLoad.count} sagas, ${listCounts(s.quarterLoad.statuses)}; coordinator CPU ${s.quarterLoad.cpuMsPerTx.toFixed(2)} ms per saga;`,
    `${busy(s.quarterLoad)} of the cores busy): p50 **${s.quarterLoad.p50} ms**,`,
    `p95 ${s.quarterLoad.p95} ms, p99 **${s.quarterLoad.p99} ms**, max ${s.quarterLoad.max} ms.`,
    '',
    `Where the CPU went at saturation (cores busy on average): ${Object.entries(s.saturated.cores).map(([name, c]) => `${name} ${c.toFixed(2)}`).join(', ')}.`,
    '',
    `Floors, measured in this run. **Messaging alone**: the 2-step saga's ${f.kafka.legs} Kafka legs (command, reply, command, reply) with Ordo's client`,
    `settings and nothing else, ${f.kafka.rounds} sagas one at a time: p50 **${f.kafka.p50} ms**, p95 ${f.kafka.p95} ms, p99 **${f.kafka.p99} ms**.`,
    `**SQL alone**: the ${f.sql.transactionsPerSaga} database transactions (${f.sql.statementsPerSaga} statements) the coordinator and both participants send for one`,
    `2-step saga, run by pgbench with ${f.sql.clients} clients for ${f.sql.seconds} s against the real tables: **${f.sql.sagasPerSecond.toFixed(0)} sagas/s**,`,
    `${(f.sql.sagasPerSecond / r.pgbench.tps).toFixed(3)} of pgbench's TPS; Ordo reached ${((100 * s.saturated.rate) / f.sql.sagasPerSecond).toFixed(0)} % of it.`,
    '',
    '| Target | Wanted | Measured | Met | Floor on this machine |',
    '|---|---|---|---|---|',
    ...r.targets.map((t) => `| ${t.name} | ${t.target} | ${t.value} | ${t.met ? 'yes' : 'no'} | ${t.limit} |`),
    END,
  ].join('\n');
}

const listCounts = (statuses: Record<string, number>) =>
  Object.entries(statuses)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');

/** bench/results.json and the docs section, or both into `out` (the docs copied there) so a trial run leaves the repository alone. */
function write(results: Results, section: string, out?: string) {
  const docs = join(REPO_ROOT, 'docs/benchmarks.md');
  const json = out ? join(out, 'results.json') : join(REPO_ROOT, 'bench/results.json');
  const markdown = out ? join(out, 'benchmarks.md') : docs;
  mkdirSync(out ?? join(REPO_ROOT, 'bench'), { recursive: true });
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  replaceSection(docs, markdown, START, END, section);
  log(`wrote ${json} and ${markdown}`);
}

main().catch((error) => {
  process.stderr.write(`[bench] ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
