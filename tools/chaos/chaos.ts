import { randomBytes, randomUUID } from 'crypto';
import { readFileSync, writeFileSync } from 'fs';
import { cpus, loadavg } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { KafkaOptions, kafkaPid, startKafka } from '../infra/kafka';
import { REPO_ROOT } from '../infra/paths';
import { crashPostgres, PostgresOptions, startPostgres } from '../infra/postgres';
import { isAlive, portOpen, sleep } from '../infra/proc';
import {
  Account,
  addAccounts,
  addProducts,
  buyNowInconsistent,
  effectsAppliedTwice,
  moneyNotConserved,
  ordersInconsistent,
  preparedLeft,
  Product,
  stockNotConserved,
  transfersInconsistent,
} from './invariants';
import { EndWatcher } from '../bench/harness';
import { FAST_FAILOVER } from '../launcher/apps';
import { Stall, stallAfter } from './stall';
import { App, Client, PARTICIPANTS, startWorld, WORLD_SCHEMA } from './world';

/**
 * `npm run chaos`: place-order sagas, TCC transfers and buy-now 2PC transactions against two
 * coordinators and the sample apps, all on a private PostgreSQL cluster and Kafka broker,
 * while coordinators, participants, the broker and the database are killed and restarted.
 * Afterwards every transaction must be terminal, the business invariants must hold exactly
 * and no effect may have been applied twice. The e2e suite runs a small version.
 */
export interface ChaosOptions {
  sagas: number;
  transfers: number;
  twoPhase: number;
  /** Per protocol: transactions whose compensations are made to fail until replayed. */
  stuck: number;
  /** Transactions in flight per protocol (closed loop). */
  concurrency: number;
  /** Starts are spread over at least this long, so the kills land under load. */
  minDurationMs: number;
  /** Pause between two kills. */
  killEveryMs: number;
  transientRate: number;
  log: (line: string) => void;
}

const TERMINAL = ['completed', 'compensated', 'failed'];
const PREFIX = 'chaos.';
const SCHEMA = WORLD_SCHEMA;
type Kind = 'coordinator' | (typeof PARTICIPANTS)[number] | 'kafka' | 'postgres';

/** Sized for a broker restart: a step keeps trying for minutes, never exhausting its budget. */
const CHAOS_RETRY = { maxAttempts: 30, initialDelayMs: 100, multiplier: 2, maxDelayMs: 3000 };
/**
 * The stuck copies fail their compensations for STUCK_ATTEMPTS attempts, their whole budget.
 * Attempts keep counting across a replay, so the replay's first attempt goes through.
 */
const STUCK_ATTEMPTS = 10;
const STUCK_RETRY = { maxAttempts: STUCK_ATTEMPTS, initialDelayMs: 50, multiplier: 2, maxDelayMs: 1000 };
const ROLLBACK_PHASE = { saga: 'compensate', tcc: 'cancel', '2pc': 'abort' } as const;

interface Protocol {
  type: 'saga' | 'tcc' | '2pc';
  file: string;
  count: number;
  input(n: number): object;
  stuckInput(n: number): object;
}

interface KillRecord {
  kind: Kind;
  target: string;
  at: number;
  /** When the killed process served again (healthy / answering). */
  backAt: number;
  /** First transaction to end after it was back. */
  resumedAt?: number;
  /** The last of the transactions in flight at the kill to end. */
  drainedAt?: number;
  inFlight?: number;
  /** How the transactions in flight at the kill were held up (stall.ts). */
  stall?: Stall;
}

export interface ChaosReport {
  ok: boolean;
  violations: Record<string, unknown[]>;
  transactions: Record<string, Record<string, number>>;
  stuck: { failed: number; replayedCompensated: number };
  kills: KillRecord[];
  unexpectedExits: string[];
  longestToTerminalMs: number;
  durationMs: number;
  summary: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const world = await startWorld({
    label: 'chaos',
    coordinators: 2,
    // Two instances of each participant: a killed one's twin takes its share over.
    participantInstances: 2,
    env: FAST_FAILOVER,
    topicPrefix: PREFIX,
    // The run injects transient errors (FAULT_TRANSIENT_RATE) and aims `_fault` at rollbacks.
    participantEnv: { FAULT_INJECTION: 'on', FAULT_TRANSIENT_RATE: String(options.transientRate) },
    log: options.log,
  });
  const { db, coordinators, participants, apps, client, postgres, kafka } = world;
  const started = Date.now();
  const watcher = new EndWatcher(db, { table: `${SCHEMA}.transactions`, pollMs: 100 });
  try {
    const data = await seed(db, options);
    const protocols = protocolsOf(options, data);
    for (const p of protocols) {
      const sample = JSON.parse(readFileSync(join(REPO_ROOT, p.file), 'utf8')) as { name: string; defaults: object; steps: { input?: object }[] };
      await client.post('/definitions', { ...sample, defaults: { ...sample.defaults, retry: CHAOS_RETRY } });
      await client.post('/definitions', {
        ...sample,
        name: `${sample.name}-stuck`,
        defaults: { ...sample.defaults, retry: STUCK_RETRY },
        steps: sample.steps.map((s) => ({ ...s, input: { ...(s.input ?? {}), _fault: '$.input._fault' } })),
      });
    }

    const load = runLoad(protocols, client, watcher, options);
    const kills = await chaosLoop(load.ended, { coordinators, participants, postgres, kafka, apps, options });
    options.log(`chaos over after ${kills.length} kills; waiting for every transaction to end`);
    const ended = await load.done;
    await watcher.close();

    // Stuck ones: failed, then replayed by an operator, then compensated.
    const stuckIds = ended.filter((t) => t.stuck).map((t) => t.id);
    const failedStuck = stuckIds.filter((id) => watcher.statusOf(id) === 'failed');
    for (const id of failedStuck) await client.post(`/transactions/${id}/retry`, undefined);
    const replayed = await waitForStatuses(db, failedStuck, 180_000);
    const replayedCompensated = replayed.filter((r) => r.status === 'compensated').length;

    const finals = await finalStatuses(
      db,
      ended.map((t) => t.id),
    );
    const violations = await checkInvariants(db, data, ended, finals);
    if (failedStuck.length !== stuckIds.length) violations.stuckNotFailed = stuckIds.filter((id) => !failedStuck.includes(id));
    if (replayedCompensated !== failedStuck.length) violations.replayNotCompensated = replayed.filter((r) => r.status !== 'compensated');
    const unfinishedOrFailed = ended.filter((t) => !t.stuck && !['completed', 'compensated'].includes(finals.get(t.id) ?? ''));
    if (unfinishedOrFailed.length > 0) violations.notCompletedOrCompensated = unfinishedOrFailed.map((t) => ({ id: t.id, status: finals.get(t.id) }));
    await measureRecovery(db, kills);
    const longest = await longestToTerminal(
      db,
      ended.map((t) => t.id),
    );

    const transactions: Record<string, Record<string, number>> = {};
    for (const t of ended) {
      const byStatus = (transactions[t.type] ??= {});
      const status = finals.get(t.id) ?? 'missing';
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    const unexpectedExits = apps.flatMap((a) => a.exits);
    const report: Omit<ChaosReport, 'summary'> = {
      ok: Object.values(violations).every((v) => v.length === 0),
      violations,
      transactions,
      stuck: { failed: failedStuck.length, replayedCompensated },
      kills,
      unexpectedExits,
      longestToTerminalMs: longest,
      durationMs: Date.now() - started,
    };
    return { ...report, summary: summarize(report, started, options) };
  } finally {
    await watcher.close();
    await world.stop();
  }
}

interface Seeded {
  saga: { products: Product[]; accounts: Account[] };
  twoPhase: { products: Product[]; accounts: Account[] };
  transfer: { accounts: Account[] };
  /** Refuses every order and buy-now: stock 0, balance 0. */
  none: { sku: string; account: string };
}

/**
 * Products and accounts per protocol, some short on purpose, so business refusals come from
 * the data: stock and balances scale with the number of transactions.
 */
async function seed(db: Pool, options: ChaosOptions): Promise<Seeded> {
  const scaled = (n: number, factors: number[], make: (value: number, i: number) => object) => factors.map((f, i) => make(Math.round(n * f), i));
  const data: Seeded = {
    saga: {
      products: scaled(options.sagas, [0.3, 0.2, 0.1, 0.05, 0.02, 0], (stock, i) => ({ sku: `SAGA-${i}`, stock })) as Product[],
      accounts: scaled(options.sagas, [300, 200, 120, 60, 20, 0], (balance, i) => ({ id: `saga-${i}`, balance })) as Account[],
    },
    twoPhase: {
      products: scaled(options.twoPhase, [0.2, 0.1, 0.05, 0.02, 0.2, 0.1, 0.05, 0.02, 0.2, 0.1], (stock, i) => ({
        sku: `2PC-${i}`,
        stock,
      })) as Product[],
      accounts: scaled(options.twoPhase, [100, 60, 30, 10, 0, 100, 60, 30, 10, 100, 60, 30, 10, 0, 100, 60, 30, 10, 100, 60], (balance, i) => ({
        id: `2pc-${i}`,
        balance,
      })) as Account[],
    },
    transfer: { accounts: [50_000, 30_000, 20_000, 10_000, 5_000, 2_000, 1_000, 0].map((balance, i) => ({ id: `tcc-${i}`, balance })) },
    none: { sku: 'NONE', account: 'broke' },
  };
  // The stuck 2PC transactions hold their charge prepared until the replay: each its own account.
  const stuckAccounts = Array.from({ length: options.stuck }, (_, i) => ({ id: `stuck-${i}`, balance: 1_000_000 }));
  const products = [...data.saga.products, ...data.twoPhase.products, { sku: data.none.sku, stock: 0 }];
  const accounts = [
    ...data.saga.accounts,
    ...data.twoPhase.accounts,
    ...data.transfer.accounts,
    ...stuckAccounts,
    { id: data.none.account, balance: 0 },
  ];
  await addProducts(db, products);
  await addAccounts(db, accounts);
  data.twoPhase.accounts.push(...stuckAccounts);
  data.transfer.accounts.push({ id: data.none.account, balance: 0 });
  return data;
}

function protocolsOf(options: ChaosOptions, data: Seeded): Protocol[] {
  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];
  const qty = () => 1 + Math.floor(Math.random() * 3);
  const stuckFault = (type: Protocol['type']) => ({ _fault: { transientAttempts: STUCK_ATTEMPTS, phases: [ROLLBACK_PHASE[type]] } });
  return [
    {
      type: 'saga',
      file: 'apps/order/place-order.saga.json',
      count: options.sagas,
      input: (n) => {
        const [product, payer, q] = [pick(data.saga.products), pick(data.saga.accounts), qty()];
        return { customer: `c${n}`, sku: product.sku, qty: q, accountId: payer.id, amount: q * (300 + 100 * (n % 7)) };
      },
      // Refused for want of funds: the order's cancel and the stock's release fail until replayed.
      stuckInput: (n) => ({
        customer: `s${n}`,
        sku: data.saga.products[0].sku,
        qty: 1,
        accountId: data.none.account,
        amount: 100,
        ...stuckFault('saga'),
      }),
    },
    {
      type: 'tcc',
      file: 'apps/payment/transfer.tcc.json',
      count: options.transfers,
      input: () => {
        const [from, to] = [pick(data.transfer.accounts), pick(data.transfer.accounts)];
        return { from: from.id, to: to.id === from.id ? data.transfer.accounts[0].id : to.id, amount: 100 + Math.floor(Math.random() * 3900) };
      },
      // The withdraw is refused; the tried deposit's cancel fails until replayed.
      stuckInput: () => ({ from: data.none.account, to: data.transfer.accounts[0].id, amount: 100, ...stuckFault('tcc') }),
    },
    {
      type: '2pc',
      file: 'apps/inventory/buy-now.2pc.json',
      count: options.twoPhase,
      input: () => {
        const [product, payer, q] = [pick(data.twoPhase.products), pick(data.twoPhase.accounts.filter((a) => !a.id.startsWith('stuck-'))), qty()];
        return { orderId: randomUUID(), sku: product.sku, qty: q, accountId: payer.id, amount: q * 250 };
      },
      // The reservation votes no; the prepared charge's abort fails until replayed.
      stuckInput: (n) => ({ orderId: randomUUID(), sku: data.none.sku, qty: 1, accountId: `stuck-${n}`, amount: 100, ...stuckFault('2pc') }),
    },
  ];
}

interface Ended {
  id: string;
  type: Protocol['type'];
  stuck: boolean;
}

/**
 * Each protocol's transactions in a closed loop, paced so starts span minDurationMs; start
 * requests carry an idempotency key, so a retry after a kill never makes a second one.
 */
function runLoad(protocols: Protocol[], client: Client, watcher: EndWatcher, options: ChaosOptions) {
  const t0 = Date.now();
  const ended: Ended[] = [];
  const runId = randomBytes(4).toString('hex');
  const starts = protocols.map(async (p) => {
    const jobs = [
      ...Array.from({ length: options.stuck }, (_, n) => ({ definition: `${nameOf(p)}-stuck`, input: p.stuckInput(n), stuck: true })),
      ...Array.from({ length: p.count }, (_, n) => ({ definition: nameOf(p), input: p.input(n), stuck: false })),
    ];
    const paceMs = options.minDurationMs / jobs.length;
    let next = 0;
    const waits: Promise<unknown>[] = [];
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < jobs.length) {
          const n = next++;
          const job = jobs[n];
          await sleep(t0 + n * paceMs - Date.now());
          const { id } = await client.post('/transactions', {
            definition: job.definition,
            input: job.input,
            idempotencyKey: `${runId}-${p.type}-${n}`,
          });
          ended.push({ id, type: p.type, stuck: job.stuck });
          const done = watcher.ended(id);
          waits.push(done);
          await done;
        }
      }),
    );
    await Promise.all(waits);
  });
  let over = false;
  const done = Promise.all(starts).then(() => ended);
  void done.finally(() => (over = true)).catch(() => undefined);
  // The chaos loop goes on until every transaction has ended (or the load failed).
  return { done, ended: () => over };
}

const nameOf = (p: Protocol) => ({ saga: 'place-order', tcc: 'transfer', '2pc': 'buy-now' })[p.type];

interface Targets {
  coordinators: App[];
  participants: App[];
  postgres: PostgresOptions;
  kafka: KafkaOptions;
  apps: App[];
  options: ChaosOptions;
}

/**
 * Every killEveryMs one kill and its restart: a coordinator (alternating) every other time,
 * and in between each participant, the broker and the database once; then coordinators
 * only, until the load is done.
 */
async function chaosLoop(loadDone: () => boolean, t: Targets): Promise<KillRecord[]> {
  const once: Kind[] = ['order', 'kafka', 'inventory', 'postgres', 'payment'];
  const kills: KillRecord[] = [];
  let coordinatorTurn = 0;
  for (let i = 0; !loadDone() || once.length > 0; i++) {
    await sleep(t.options.killEveryMs);
    if (loadDone() && once.length === 0) break;
    const kind: Kind = i % 2 === 0 || once.length === 0 ? 'coordinator' : once.shift()!;
    const at = Date.now();
    let target: string = kind;
    if (kind === 'coordinator' || (PARTICIPANTS as readonly string[]).includes(kind)) {
      const app = kind === 'coordinator' ? t.coordinators[coordinatorTurn++ % 2] : t.participants.find((p) => p.name === kind)!;
      target = app.label;
      await app.stop('SIGKILL');
      await app.start();
    } else if (kind === 'kafka') {
      const pid = kafkaPid(t.kafka)!;
      process.kill(pid, 'SIGKILL');
      // Until it is gone, startKafka would take it for a running broker; and a JVM's main
      // thread shows as a zombie while its other threads still hold the listening sockets.
      while (isAlive(pid) || (await portOpen(t.kafka.port)) || (await portOpen(t.kafka.controllerPort))) await sleep(50);
      await startKafka(t.kafka);
    } else {
      await crashPostgres(t.postgres);
      await startPostgres(t.postgres);
    }
    kills.push({ kind, target, at, backAt: Date.now() });
    t.options.log(`killed ${target} at +${((at - kills[0].at) / 1000).toFixed(1)} s; back after ${((Date.now() - at) / 1000).toFixed(1)} s`);
    for (const app of t.apps) await app.reviveIfDead();
  }
  return kills;
}

/** When each transaction first reached a terminal status ($1: those statuses), from its history. */
const FIRST_END = `SELECT tx_id, min(at) AS ended_at FROM ${SCHEMA}.events
  WHERE type = 'transaction.status_changed' AND data->>'to' = ANY($1) GROUP BY tx_id`;

async function measureRecovery(db: Pool, kills: KillRecord[]) {
  for (const kill of kills) {
    const resumed = await db.query<{ at: Date | null }>(
      `SELECT min(at) AS at FROM ${SCHEMA}.events WHERE type = 'transaction.status_changed' AND data->>'to' = ANY($1) AND at > $2`,
      [TERMINAL, new Date(kill.backAt)],
    );
    kill.resumedAt = resumed.rows[0].at?.getTime();
    // In flight at the kill: created before it, ended after it.
    const { rows: inFlight } = await db.query<{ id: string; ended_at: Date }>(
      `SELECT t.id, f.ended_at FROM ${SCHEMA}.transactions t JOIN (${FIRST_END}) f ON f.tx_id = t.id WHERE t.created_at < $2 AND f.ended_at > $2`,
      [TERMINAL, new Date(kill.at)],
    );
    kill.inFlight = inFlight.length;
    kill.drainedAt = inFlight.length > 0 ? Math.max(...inFlight.map((r) => r.ended_at.getTime())) : undefined;
    kill.stall = await stallAfter(
      db,
      SCHEMA,
      inFlight.map((r) => r.id),
      kill.at,
    );
  }
}

async function longestToTerminal(db: Pool, ids: string[]): Promise<number> {
  const { rows } = await db.query<{ ms: number | null }>(
    `SELECT max(extract(epoch FROM f.ended_at - t.created_at) * 1000)::float8 AS ms
     FROM ${SCHEMA}.transactions t JOIN (${FIRST_END}) f ON f.tx_id = t.id WHERE t.id = ANY($2::uuid[])`,
    [TERMINAL, ids],
  );
  return rows[0].ms ?? 0;
}

async function finalStatuses(db: Pool, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; status: string }>(`SELECT id, status FROM ${SCHEMA}.transactions WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** Waits until none of `ids` is failed or running any more (a replay in progress). */
async function waitForStatuses(db: Pool, ids: string[], limitMs: number) {
  const until = Date.now() + limitMs;
  for (;;) {
    const { rows } = await db.query<{ id: string; status: string }>(`SELECT id, status FROM ${SCHEMA}.transactions WHERE id = ANY($1::uuid[])`, [
      ids,
    ]);
    if (rows.every((r) => r.status === 'completed' || r.status === 'compensated') || Date.now() > until) return rows;
    await sleep(200);
  }
}

async function checkInvariants(db: Pool, data: Seeded, ended: Ended[], finals: Map<string, string>) {
  const idsOf = (type: Protocol['type']) => ended.filter((t) => t.type === type).map((t) => t.id);
  const completed = new Set(ended.filter((t) => finals.get(t.id) === 'completed').map((t) => t.id));
  const all = ended.map((t) => t.id);
  const violations: Record<string, unknown[]> = {
    notTerminal: ended.filter((t) => !TERMINAL.includes(finals.get(t.id) ?? '')).map((t) => t.id),
    stock: await stockNotConserved(db, [...data.saga.products, ...data.twoPhase.products, { sku: data.none.sku, stock: 0 }]),
    money: await moneyNotConserved(db, [...data.saga.accounts, ...data.twoPhase.accounts]),
    orders: await ordersInconsistent(db, idsOf('saga'), completed),
    buyNow: await buyNowInconsistent(db, idsOf('2pc'), completed),
    preparedLeft: await preparedLeft(db, PREFIX),
    transfers: await transfersInconsistent(db, idsOf('tcc'), completed, data.transfer.accounts),
    appliedTwice: await effectsAppliedTwice(db, all),
  };
  return violations;
}

function summarize(report: Omit<ChaosReport, 'summary'>, started: number, options: ChaosOptions): string {
  const s = (at: number | undefined, from: number) => (at === undefined ? 'n/a' : `${((at - from) / 1000).toFixed(1)} s`);
  const ms = (duration: number | undefined) => s(duration, 0);
  const byKind: Record<string, number> = {};
  for (const k of report.kills) byKind[k.kind] = (byKind[k.kind] ?? 0) + 1;
  const total = Object.values(report.transactions).reduce((sum, byStatus) => sum + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
  const lines = [
    `Chaos run ${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} cores (load average at the end ${loadavg()[0].toFixed(1)}), ${(report.durationMs / 1000).toFixed(0)} s in all.`,
    `${total} transactions (${options.concurrency} in flight per protocol, transient fault rate ${options.transientRate}, ${options.stuck} stuck per protocol):`,
    '',
    '| Protocol | completed | compensated | failed | other |',
    '|---|---|---|---|---|',
    ...Object.entries(report.transactions).map(([type, byStatus]) => {
      const other = Object.entries(byStatus)
        .filter(([k]) => !TERMINAL.includes(k))
        .reduce((a, [, v]) => a + v, 0);
      return `| ${type} | ${byStatus.completed ?? 0} | ${byStatus.compensated ?? 0} | ${byStatus.failed ?? 0} | ${other} |`;
    }),
    '',
    `Stuck compensations: ${report.stuck.failed} ended \`failed\`, replayed, ${report.stuck.replayedCompensated} then \`compensated\`.`,
    `Kills: ${Object.entries(byKind)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}. Longest time to terminal: ${(report.longestToTerminalMs / 1000).toFixed(1)} s.`,
    '',
    '| # | At | Killed | Back (served again) | First transaction ended | In flight at the kill | Longest of them without progress | p99 of them to the end | All of them ended |',
    '|---|---|---|---|---|---|---|---|---|',
    ...report.kills.map(
      (k, i) =>
        `| ${i + 1} | +${s(k.at, report.kills[0].at)} | ${k.target} | ${s(k.backAt, k.at)} | ${s(k.resumedAt, k.at)} | ${k.inFlight ?? 'n/a'} | ${ms(k.stall?.longestWithoutProgressMs)} | ${ms(k.stall?.p99ToEndMs)} | ${s(k.drainedAt, k.at)} |`,
    ),
    '',
    `Invariants: ${report.ok ? 'all hold' : 'VIOLATED'} (${Object.entries(report.violations)
      .map(([k, v]) => `${k} ${v.length}`)
      .join(', ')}).`,
    `Processes that died on their own: ${report.unexpectedExits.length === 0 ? 'none' : report.unexpectedExits.join('; ')}.`,
  ];
  return lines.join('\n');
}

const START = '<!-- chaos:start -->';
const END = '<!-- chaos:end -->';

/** Replaces the latest run's section of docs/chaos.md. */
function writeReport(report: ChaosReport) {
  const file = join(REPO_ROOT, 'docs/chaos.md');
  const current = readFileSync(file, 'utf8');
  const [before, after] = [current.slice(0, current.indexOf(START)), current.slice(current.indexOf(END) + END.length)];
  writeFileSync(file, `${before}${START}\n${report.summary}\n${END}${after}`);
}

function numberEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number`);
  return value;
}

async function main() {
  const report = await runChaos({
    sagas: numberEnv('CHAOS_SAGAS', 2000),
    transfers: numberEnv('CHAOS_TRANSFERS', 500),
    twoPhase: numberEnv('CHAOS_2PC', 500),
    stuck: numberEnv('CHAOS_STUCK', 3),
    concurrency: numberEnv('CHAOS_CONCURRENCY', 16),
    minDurationMs: numberEnv('CHAOS_MIN_DURATION_S', 120) * 1000,
    killEveryMs: numberEnv('CHAOS_KILL_EVERY_S', 5) * 1000,
    transientRate: numberEnv('CHAOS_TRANSIENT_RATE', 0.1),
    log: (line) => process.stdout.write(`[chaos] ${line}\n`),
  });
  process.stdout.write(`${report.summary}\n`);
  if (!report.ok) process.stdout.write(`violations: ${JSON.stringify(report.violations, null, 2).slice(0, 20_000)}\n`);
  if (process.env.CHAOS_WRITE_DOCS !== '0') writeReport(report);
  process.exitCode = report.ok ? 0 : 1;
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
