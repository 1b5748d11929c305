import { existsSync } from 'fs';
import { join } from 'path';
import { dropDatabase, ensureDatabase, findPgBin, withDatabase } from '../infra/postgres';
import { runOrFail } from '../infra/proc';
import { machineBusyMs } from './usage';

/** The database's raw write capacity: pgbench's built-in simple-update script (-N). */

export function pgbenchBinary(): string {
  try {
    const bundled = join(findPgBin(), 'pgbench');
    if (existsSync(bundled)) return bundled;
  } catch {
    // No server binaries (DATABASE_URL set): the client package's pgbench on the PATH.
  }
  return 'pgbench';
}

/** Runs pgbench's workload `args` with `clients` clients (on two threads at most) for `seconds` against `url`. */
export function runPgbench(what: string, bin: string, args: string[], run: { clients: number; seconds: number; url: string }) {
  const { clients, seconds, url } = run;
  return runOrFail(what, bin, [...args, '-c', String(clients), '-j', String(Math.min(2, clients)), '-T', String(seconds), url]);
}

/** The `tps = …` figure of pgbench's output; fails when the run had failed transactions. */
export function pgbenchTps(stdout: string): number {
  const tps = stdout.match(/^tps = ([\d.]+)/m);
  if (!tps) throw new Error(`no tps in pgbench's output:\n${stdout}`);
  const failed = stdout.match(/^number of failed transactions: (\d+)/m);
  if (failed && Number(failed[1]) > 0) throw new Error(`pgbench: ${failed[1]} transactions failed:\n${stdout}`);
  return Number(tps[1]);
}

export interface PgbenchLevel {
  clients: number;
  tps: number;
  /**
   * The whole machine's busy CPU per transaction, ms (PostgreSQL and pgbench itself): what a
   * small write transaction costs on this machine in this run. The same work costs more CPU
   * on a slow stretch of a virtual machine, so it tells runs apart.
   */
  cpuMsPerTx: number;
}

export interface Pgbench {
  scale: number;
  seconds: number;
  /** Each client count tried. */
  sweep: PgbenchLevel[];
  /** The client count with the highest TPS, that TPS, and its CPU per transaction. */
  clients: number;
  tps: number;
  cpuMsPerTx: number;
}

/** The count of `number of transactions actually processed: …` in pgbench's output. */
function pgbenchTransactions(stdout: string): number {
  const processed = stdout.match(/^number of transactions actually processed: (\d+)/m);
  if (!processed) throw new Error(`no transaction count in pgbench's output:\n${stdout}`);
  return Number(processed[1]);
}

/**
 * `pgbench -N` at each client count in turn, `seconds` each, on one database of its own
 * (scale `scale`) on the same cluster, dropped afterwards. The best count is what this
 * database can write; far more clients than cores measure contention instead.
 */
export async function pgbenchSweep(
  databaseUrl: string,
  database: string,
  options: { clients: number[]; seconds: number; scale: number },
): Promise<Pgbench> {
  await ensureDatabase(databaseUrl, database);
  const url = withDatabase(databaseUrl, database);
  const bin = pgbenchBinary();
  const seconds = Math.ceil(options.seconds);
  try {
    await runOrFail('pgbench -i', bin, ['-i', '-q', '-s', String(options.scale), url]);
    const sweep: Pgbench['sweep'] = [];
    for (const clients of options.clients) {
      const busyBefore = machineBusyMs();
      const { stdout } = await runPgbench('pgbench', bin, ['-N'], { clients, seconds, url });
      const cpuMsPerTx = (machineBusyMs() - busyBefore) / pgbenchTransactions(stdout);
      sweep.push({ clients, tps: pgbenchTps(stdout), cpuMsPerTx });
    }
    const best = sweep.reduce((a, b) => (b.tps > a.tps ? b : a));
    return { scale: options.scale, seconds, sweep, ...best };
  } finally {
    await dropDatabase(databaseUrl, database);
  }
}
