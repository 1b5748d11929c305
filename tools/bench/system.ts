import { randomBytes, randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { APPS, AppName } from '../launcher/apps';
import { Infra, localOptions } from '../infra/infra';
import { kafkaBrokers, kafkaPid } from '../infra/kafka';
import { REPO_ROOT } from '../infra/paths';
import { withDatabase } from '../infra/postgres';
import { groupsSettled, systemGroups } from './consumer-groups';
import { Api, BenchApp, Ended, EndWatcher, startBenchApp } from './harness';
import { AppDatabases, createAppDatabases } from './sql-counters';
import { parentPid, Processes } from './usage';

/** The system under test: the coordinator and the three sample participants, each on a database of its own, and the workloads. */

const sample = (path: string) => JSON.parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as { name: string; defaults: object; steps: object[] };
const PLACE_ORDER = sample('apps/order/place-order.saga.json');
const TRANSFER = sample('apps/payment/transfer.tcc.json');
const BUY_NOW = sample('apps/inventory/buy-now.2pc.json');
/** buy-now's two steps as a saga: reserve the stock, then charge; each undone by its compensation. */
export const SAGA2 = {
  name: 'bench-saga2',
  type: 'saga',
  timeoutMs: 30_000,
  defaults: PLACE_ORDER.defaults,
  steps: [
    {
      id: 'reserve-stock',
      participant: 'inventory',
      action: 'reserve',
      compensation: 'release',
      input: { sku: '$.input.sku', qty: '$.input.qty', orderId: '$.input.orderId' },
    },
    {
      id: 'charge',
      participant: 'payment',
      action: 'charge',
      compensation: 'refund',
      dependsOn: ['reserve-stock'],
      input: { accountId: '$.input.accountId', amount: '$.input.amount', orderId: '$.input.orderId' },
    },
  ],
};

export interface Workload {
  definition: string;
  input(): object;
}

export const APP_NAMES = APPS.map((app) => app.name);

export interface System extends Processes {
  /** Every coordinator instance's API: transactions are started on one at random, as behind a load balancer. */
  apis: Api[];
  /** The harness's connection to the coordinator's database (its own role, so its queries can be told apart). */
  db: Client;
  /** The first instance of each app. */
  byName: Record<AppName, BenchApp>;
  databases: AppDatabases<AppName>;
}

/** How many instances of the coordinator and of each participant app run, and the partitions of every topic. */
export interface Topology {
  coordinators: number;
  participants: number;
  partitions: number;
}

export const ONE_OF_EACH: Topology = { coordinators: 1, participants: 1, partitions: 8 };

/**
 * Starts the apps, each as the role of its own database (named `${base}_${app}`; the
 * instances of an app share it), registers the definitions and seeds stock and money.
 * `started` collects the apps as they start, and `created` the databases, so the caller can
 * stop and drop them whatever happens. The second and later instances of an app are named
 * `coordinator-2`, `inventory-2`, …; participant instance i talks to coordinator i. `appEnv`
 * adds settings for every instance of an app.
 */
export async function startSystem(
  infra: Infra,
  base: string,
  topicPrefix: string,
  rows: number,
  started: { apps: BenchApp[]; databases?: AppDatabases<AppName> },
  topology: Topology = ONE_OF_EACH,
  appEnv: Partial<Record<AppName, Record<string, string>>> = {},
): Promise<System> {
  const databases = await createAppDatabases(infra.databaseUrl, base, APP_NAMES, 'coordinator');
  started.databases = databases;
  const apiKey = randomBytes(16).toString('hex');
  const env = (name: AppName) => ({
    DATABASE_URL: databases.apps[name].url,
    DATABASE_SCHEMA: APPS.find((a) => a.name === name)!.schema,
    KAFKA_BROKERS: infra.kafkaBrokers,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    KAFKA_TOPIC_PARTITIONS: String(topology.partitions),
  });
  const instances = async (name: AppName, count: number, envOf: (i: number) => Record<string, string>) =>
    Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const app = await startBenchApp(name, { ...env(name), ...appEnv[name], ...envOf(i) });
        started.apps.push(app);
        return { ...app, instance: i === 0 ? name : `${name}-${i + 1}` };
      }),
    );
  // The bench's own requests must never meet the per-credential rate limit.
  const coordinators = await instances('coordinator', topology.coordinators, () => ({
    ORDO_API_KEYS: `bench:admin:${apiKey}`,
    RATE_LIMIT_PER_MINUTE: '10000000',
  }));
  const participantNames = ['order', 'inventory', 'payment'] as const;
  const participants = await Promise.all(
    participantNames.map((name) =>
      instances(name, topology.participants, (i) => ({
        ORDO_COORDINATOR_URL: `http://127.0.0.1:${coordinators[i % coordinators.length].port}`,
        ORDO_COORDINATOR_API_KEY: apiKey,
      })),
    ),
  );
  const [order, inventory, payment] = participants.map((all) => all[0]);
  await groupsSettled(infra.kafkaBrokers, systemGroups(topicPrefix, topology.coordinators, participantNames, topology.participants));
  const db = new Client({ connectionString: databases.harness.url });
  await db.connect();
  await db.query(`SET search_path = ${env('coordinator').DATABASE_SCHEMA}`);
  const apis = coordinators.map(({ port }) => new Api(`http://127.0.0.1:${port}/api/v1`, apiKey));
  for (const definition of [SAGA2, PLACE_ORDER, TRANSFER, BUY_NOW]) await apis[0].post('/definitions', definition);
  // Stock and money enough for any run: no transaction is refused for want of them.
  await seed(
    withDatabase(infra.databaseUrl, databases.apps.inventory.database),
    `INSERT INTO inventory.products (sku, name, stock) SELECT 'B-' || n, 'bench', 1000000000 FROM generate_series(1, $1) n`,
    rows,
  );
  await seed(
    withDatabase(infra.databaseUrl, databases.apps.payment.database),
    `INSERT INTO payment.accounts (id, owner, balance) SELECT 'b-' || n, 'bench', 1000000000000 FROM generate_series(1, $1) n`,
    rows,
  );
  const byName = { coordinator: coordinators[0], order, inventory, payment };
  const local = localOptions().kafka;
  return {
    apis,
    db,
    byName,
    databases,
    apps: [...coordinators, ...participants.flat()].map(({ instance, pid }) => ({ name: instance, pid })),
    ...(await backendOf(db)),
    kafka: infra.kafkaBrokers === kafkaBrokers(local) ? kafkaPid(local) : undefined,
  };
}

async function seed(url: string, sql: string, rows: number) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql, [rows]);
  } finally {
    await client.end();
  }
}

/**
 * The backend serving `db` (the harness's connection) and its postmaster, when the cluster
 * runs on this machine: the postmaster's children are PostgreSQL's CPU, but for that backend.
 */
async function backendOf(db: Client): Promise<{ postmaster?: number; harnessBackends?: number[] }> {
  const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  try {
    return { postmaster: parentPid(rows[0].pid), harnessBackends: [rows[0].pid] };
  } catch {
    return {}; // A server elsewhere: no /proc entry for its backend.
  }
}

export type WorkloadName = 'saga2' | 'dag4' | 'tcc' | 'twoPc';

export function workloads(rows: number): Record<WorkloadName, Workload> {
  const pick = () => 1 + Math.floor(Math.random() * rows);
  const items = () => ({ sku: `B-${pick()}`, qty: 1, accountId: `b-${pick()}`, amount: 1 });
  const order = () => ({ orderId: randomUUID(), ...items() });
  return {
    saga2: { definition: SAGA2.name, input: order },
    // No orderId: with one, place-order takes up an order placed by POST /api/v1/orders instead of creating it.
    dag4: { definition: PLACE_ORDER.name, input: () => ({ customer: 'bench', ...items() }) },
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

/** Starts one transaction of the workload on one of the coordinators; resolves at its end, with when its POST was sent. */
export async function startAndWait(system: System, watcher: EndWatcher, workload: Workload): Promise<Ended & { sent: number }> {
  const sent = Date.now();
  const api = system.apis[Math.floor(Math.random() * system.apis.length)];
  const { id } = await api.post<{ id: string }>('/transactions', { definition: workload.definition, input: workload.input() });
  return { sent, ...(await watcher.ended(id)) };
}

export interface Throughput {
  concurrency: number;
  count: number;
  /** Transactions per second from the first start to the last end. */
  rate: number;
  statuses: Record<string, number>;
}

/** Closed loop: `concurrency` clients each start a transaction and wait for its end, for `seconds`. */
export async function closedLoop(system: System, workload: Workload, concurrency: number, seconds: number): Promise<Throughput> {
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

export const tally = (statuses: Record<string, number>, status: string) => (statuses[status] = (statuses[status] ?? 0) + 1);
