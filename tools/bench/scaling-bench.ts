import { randomBytes } from 'crypto';
import { cpus, loadavg } from 'os';
import { AppName } from '../launcher/apps';
import { Infra, startInfra, stopInfra } from '../infra/infra';
import { cleanUpOnInterrupt } from '../infra/proc';
import { BenchApp, benchOption, deleteTopics, log, runBench, writeReport } from './harness';
import { Pgbench, pgbenchSweep } from './pgbench';
import { AppDatabases, SqlCounters } from './sql-counters';
import { closedLoop, SAGA2, startSystem, System, Throughput, Topology, workloads } from './system';
import { HARNESS, metered, readClockTicks, Usage } from './usage';

/**
 * `npm run bench:scaling`: how the 2-step saga's saturated throughput, its CPU per process
 * kind and its statements and commits change with the number of coordinator instances, Kafka
 * partitions and participant instances, and with the load split over two whole stacks on
 * two databases of the same server (a simulated shard split); pgbench -N in the same run as
 * the ceiling. Each configuration gets a fresh system (databases, topics, apps). Prints a
 * table and writes bench/scaling.json and its section of docs/scaling.md (or both into --out).
 */

interface Config {
  label: string;
  topology: Topology;
  /** Whole stacks (coordinators, participants, their databases and topics), the load split evenly over them. */
  shards: number;
}

const config = (label: string, coordinators: number, partitions: number, participants: number, shards = 1): Config => ({
  label,
  topology: { coordinators, partitions, participants },
  shards,
});

/** The base configuration first: the others are compared with it. */
const CONFIGS: Config[] = [
  config('base', 1, 8, 1),
  config('coordinators 2', 2, 8, 1),
  config('coordinators 4', 4, 8, 1),
  config('partitions 2', 1, 2, 1),
  config('partitions 32', 1, 32, 1),
  config('participants 2', 1, 8, 2),
  config('2 shards', 1, 8, 1, 2),
];

interface Settings {
  scale: 'small' | 'full';
  configs: Config[];
  /** Closed-loop concurrencies measured in each configuration (all shards together). */
  levels: number[];
  seconds: number;
  warmUpSeconds: number;
  pgbenchScale: number;
  pgbenchClients: number[];
  pgbenchSeconds: number;
  rows: number;
  out?: string;
}

const SCALES: Record<Settings['scale'], Omit<Settings, 'scale' | 'out'>> = {
  small: {
    configs: [config('base', 1, 2, 1), config('coordinators 2', 2, 2, 1)],
    levels: [8],
    seconds: 2,
    warmUpSeconds: 1,
    pgbenchScale: 1,
    pgbenchClients: [8],
    pgbenchSeconds: 2,
    rows: 100,
  },
  full: {
    configs: CONFIGS,
    levels: [32, 128],
    seconds: 15,
    warmUpSeconds: 8,
    pgbenchScale: 10,
    pgbenchClients: [8, 16, 32],
    pgbenchSeconds: 5,
    rows: 1000,
  },
};

function settings(argv: string[]): Settings {
  const scale = benchOption(argv, 'scale') ?? 'full';
  if (scale !== 'small' && scale !== 'full') throw new Error(`--scale / BENCH_SCALE must be small or full, got ${scale}`);
  const base = SCALES[scale];
  // --only=base,coordinators 2: a subset of the full run's configurations, by label.
  const only = benchOption(argv, 'only')?.split(',');
  const configs = only ? CONFIGS.filter((c) => only.includes(c.label)) : base.configs;
  if (only && configs.length !== only.length) throw new Error(`--only names configurations among: ${CONFIGS.map((c) => c.label).join(', ')}`);
  const seconds = Number(benchOption(argv, 'seconds') ?? base.seconds);
  if (!(seconds > 0)) throw new Error('--seconds / BENCH_SECONDS must be a positive number');
  const levels = benchOption(argv, 'concurrency')?.split(',').map(Number) ?? base.levels;
  if (levels.some((n) => !Number.isInteger(n) || n < 2)) throw new Error('--concurrency / BENCH_CONCURRENCY must list whole numbers ≥ 2');
  return { ...base, scale, configs, seconds, levels, out: benchOption(argv, 'out') };
}

/** Where the CPU goes, by kind of process: all instances of the coordinator together, all participants together. */
type Kind = 'coordinators' | 'participants' | 'PostgreSQL' | 'Kafka' | 'harness' | 'rest';

function kindOf(process: string): Kind {
  if (process === 'PostgreSQL' || process === 'Kafka') return process;
  if (process === HARNESS) return 'harness';
  if (process.startsWith('coordinator')) return 'coordinators';
  return /^(order|inventory|payment)/.test(process) ? 'participants' : 'rest';
}

const byKind = (figures: Record<string, number>) => {
  const sums: Record<Kind, number> = { coordinators: 0, participants: 0, PostgreSQL: 0, Kafka: 0, harness: 0, rest: 0 };
  for (const [process, n] of Object.entries(figures)) sums[kindOf(process)] += n;
  return sums;
};

/** The apps the 2-step saga runs on: their statements and commits are the saga's. */
const SAGA_APPS = [...new Set(['coordinator', ...SAGA2.steps.map((s) => s.participant)])];

interface Level {
  concurrency: number;
  count: number;
  rate: number;
  statuses: Record<string, number>;
  /** CPU ms per saga by kind, and all of the system under test (harness apart). */
  cpuMsPerSaga: Record<Kind, number>;
  systemCpuMsPerSaga: number;
  /** Cores busy on average by kind. */
  cores: Record<Kind, number>;
  /** Cores other Ordo processes kept busy: contention from outside the run. */
  others: number;
  /** Statements and commits per saga of the saga's apps, summed (one stack; not measured with shards). */
  sql?: { statements: number; commits: number; byApp: Record<string, { statements: number; commits: number }> };
}

interface Measured {
  label: string;
  topology: Topology;
  shards: number;
  levels: Level[];
  best: Level;
}

interface Running {
  systems: System[];
  apps: BenchApp[];
  databases: AppDatabases<AppName>[];
  topicPrefixes: string[];
}

/** Starts a configuration's stacks one after another; `running` collects what to stop whatever happens. */
async function startConfig(c: Config, infra: Infra, runId: string, index: number, rows: number, running: Running) {
  for (let shard = 1; shard <= c.shards; shard++) {
    const base = `ordo_scaling_${runId}_${index}_${shard}`;
    const topicPrefix = `scaling-${runId}-${index}-${shard}.`;
    running.topicPrefixes.push(topicPrefix);
    const started: { apps: BenchApp[]; databases?: AppDatabases<AppName> } = { apps: [] };
    try {
      const system = await startSystem(infra, base, topicPrefix, rows, started, c.topology);
      // The second shard's processes are told apart by name; kindOf still finds their kind.
      if (shard > 1) system.apps = system.apps.map(({ name, pid }) => ({ name: `${name}@shard${shard}`, pid }));
      running.systems.push(system);
    } finally {
      running.apps.push(...started.apps);
      if (started.databases) running.databases.push(started.databases);
    }
  }
}

async function stopConfig(infra: Infra, running: Running) {
  for (const system of running.systems) await system.db.end().catch(() => undefined);
  for (const app of running.apps) await app.stop();
  for (const prefix of running.topicPrefixes) await deleteTopics(infra.kafkaBrokers, prefix);
  for (const databases of running.databases) await databases.drop().catch((error: Error) => log(`dropping databases: ${error.message}`));
}

/** The closed loop on every shard at once, the concurrency split evenly: as many sagas in flight as with one. */
async function loadAll(systems: System[], concurrency: number, seconds: number, rows: number): Promise<Throughput> {
  const saga2 = workloads(rows).saga2;
  const results = await Promise.all(systems.map((s) => closedLoop(s, saga2, Math.max(1, Math.round(concurrency / systems.length)), seconds)));
  const statuses: Record<string, number> = {};
  for (const r of results) for (const [status, n] of Object.entries(r.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
  return {
    concurrency,
    count: results.reduce((sum, r) => sum + r.count, 0),
    rate: results.reduce((sum, r) => sum + r.rate, 0),
    statuses,
  };
}

function level(result: Throughput & Usage & { sql?: { apps: Record<string, { statementsPerTx: number; commitsPerTx: number }> } }): Level {
  const sagaApps = result.sql ? SAGA_APPS.map((app) => [app, result.sql!.apps[app]] as const) : [];
  return {
    concurrency: result.concurrency,
    count: result.count,
    rate: result.rate,
    statuses: result.statuses,
    cpuMsPerSaga: byKind(result.cpuMsPerTx),
    systemCpuMsPerSaga: result.systemCpuMsPerTx,
    cores: byKind(result.cores),
    others: result.others,
    sql: result.sql && {
      statements: sagaApps.reduce((sum, [, a]) => sum + a.statementsPerTx, 0),
      commits: sagaApps.reduce((sum, [, a]) => sum + a.commitsPerTx, 0),
      byApp: Object.fromEntries(sagaApps.map(([app, a]) => [app, { statements: a.statementsPerTx, commits: a.commitsPerTx }])),
    },
  };
}

async function measureConfig(c: Config, index: number, infra: Infra, runId: string, options: Settings, running: Running): Promise<Measured> {
  let counters: SqlCounters<AppName> | undefined;
  try {
    await startConfig(c, infra, runId, index, options.rows, running);
    const { systems } = running;
    // All shards' processes together, the first shard's PostgreSQL and Kafka (the same server and broker).
    const processes = { ...systems[0], apps: systems.flatMap((s) => s.apps) };
    // Statements by role: one stack's roles. With shards each stack has its own, so they are not counted.
    counters = c.shards === 1 ? await SqlCounters.open(systems[0].databases) : undefined;
    await loadAll(systems, options.levels[0], options.warmUpSeconds, options.rows);
    await counters?.settle();
    const levels: Level[] = [];
    for (const concurrency of options.levels) {
      const work = () => metered(processes, () => loadAll(systems, concurrency, options.seconds, options.rows));
      const result = level(counters ? await counters.measure(work) : await work());
      levels.push(result);
      log(`${c.label}: ${concurrency} in flight ${result.rate.toFixed(1)} sagas/s, ${result.systemCpuMsPerSaga.toFixed(2)} ms CPU per saga`);
    }
    const best = levels.reduce((a, b) => (b.rate > a.rate ? b : a));
    return { label: c.label, topology: c.topology, shards: c.shards, levels, best };
  } finally {
    await counters?.close().catch(() => undefined);
  }
}

interface Results {
  at: string;
  scale: Settings['scale'];
  machine: { cpus: number; cpuModel: string; node: string; loadBefore: number[]; loadAfter: number[] };
  seconds: number;
  configs: Measured[];
  pgbench: Pgbench;
}

async function main() {
  const options = settings(process.argv.slice(2));
  const loadBefore = loadavg();
  await readClockTicks();
  const infra = await startInfra(log);
  // The configuration being measured: stopped after its measurement, or on an interrupt.
  let running: Running | undefined;
  const stopRunning = async () => {
    const stopping = running;
    running = undefined;
    if (stopping) await stopConfig(infra, stopping);
  };
  const cleanUp = cleanUpOnInterrupt('the scaling bench', async () => {
    await stopRunning();
    await stopInfra(infra.started);
  });
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  try {
    const configs: Measured[] = [];
    for (const [index, c] of options.configs.entries()) {
      log(
        `${c.label}: ${c.topology.coordinators} coordinator(s), ${c.topology.partitions} partitions, ${c.topology.participants} instance(s) of each participant, ${c.shards} shard(s)`,
      );
      running = { systems: [], apps: [], databases: [], topicPrefixes: [] };
      try {
        configs.push(await measureConfig(c, index, infra, runId, options, running));
      } finally {
        await stopRunning();
      }
    }
    // Last, as in npm run bench: its writes and checkpoints would slow what follows.
    log(`pgbench -N, ${options.pgbenchClients.join(', ')} clients, ${options.pgbenchSeconds} s each`);
    const pgbench = await pgbenchSweep(infra.databaseUrl, `ordo_scaling_${runId}_pgbench`, {
      clients: options.pgbenchClients,
      seconds: options.pgbenchSeconds,
      scale: options.pgbenchScale,
    });
    const results: Results = {
      at: new Date().toISOString(),
      scale: options.scale,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, loadBefore, loadAfter: loadavg() },
      seconds: options.seconds,
      configs,
      pgbench,
    };
    const section = report(results);
    process.stdout.write(`\n${section}\n\n`);
    writeReport({ json: 'scaling.json', doc: 'scaling.md', start: START, end: END }, results, section, options.out);
  } finally {
    await cleanUp();
  }
}

const START = '<!-- bench:scaling:start -->';
const END = '<!-- bench:scaling:end -->';

function report(r: Results): string {
  const base = r.configs[0].best.rate;
  const ms = (n: number) => n.toFixed(2);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
  const contended = r.configs.some((c) => c.levels.some((l) => l.others >= 0.05));
  const row = (c: Measured) => {
    const b = c.best;
    const cpu = b.cpuMsPerSaga;
    return `| ${c.label} | ${c.topology.coordinators} | ${c.topology.partitions} | ${c.topology.participants} | ${c.shards} | ${c.levels.map((l) => `${l.concurrency}: ${l.rate.toFixed(1)}`).join('; ')} | **${b.rate.toFixed(1)}** | ${(b.rate / base).toFixed(2)} | ${ms(cpu.coordinators)} | ${ms(cpu.participants)} | ${ms(cpu.PostgreSQL)} | ${ms(cpu.Kafka)} | ${ms(b.systemCpuMsPerSaga)} | ${b.sql ? b.sql.statements.toFixed(2) : '–'} | ${b.sql ? b.sql.commits.toFixed(2) : '–'} | ${b.cores.PostgreSQL.toFixed(2)} | ${(b.rate / r.pgbench.tps).toFixed(3)} |`;
  };
  return [
    START,
    `Last run ${r.at.slice(0, 16).replace('T', ' ')} UTC, scale \`${r.scale}\`, ${r.seconds} s per level, on ${r.machine.cpus} cores (${r.machine.cpuModel}), Node.js ${r.machine.node};`,
    `everything (PostgreSQL, Kafka, every instance, the load generator) on this one machine. Load average before: ${load(r.machine.loadBefore)}; after: ${load(r.machine.loadAfter)}.`,
    contended
      ? '**Contended:** other Ordo processes or test runs shared the cores during some measurements, so those figures are low.'
      : 'No other Ordo process or test run shared the machine while measuring.',
    '',
    `pgbench \`-N\`, scale ${r.pgbench.scale}: ${r.pgbench.sweep.map((p) => `${p.clients} clients ${p.tps.toFixed(0)}`).join(', ')} TPS; best **${r.pgbench.tps.toFixed(0)} TPS**.`,
    '',
    '2-step saga (reserve → charge), closed loop; the best level of each configuration; CPU in ms per saga by kind of process (all instances together);',
    'statements and commits per saga of the coordinator and both participants (not counted with two shards: each has its own roles).',
    '',
    '| Configuration | Coordinators | Partitions | Participant instances | Shards | Sagas/s by in flight | Best sagas/s | × base | CPU coordinators | CPU participants | CPU PostgreSQL | CPU Kafka | CPU all | Statements/saga | Commits/saga | PostgreSQL cores busy | ÷ pgbench |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.configs.map(row),
    END,
  ].join('\n');
}

runBench(main);
