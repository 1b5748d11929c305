import { existsSync } from 'fs';
import { join } from 'path';
import { dropDatabase, ensureDatabase, findPgBin, withDatabase } from '../infra/postgres';
import { runOrFail } from '../infra/proc';

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

export interface Pgbench {
  scale: number;
  seconds: number;
  /** TPS at each client count tried. */
  sweep: { clients: number; tps: number }[];
  /** The client count with the highest TPS, and that TPS. */
  clients: number;
  tps: number;
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
      const { stdout } = await runPgbench('pgbench', bin, ['-N'], { clients, seconds, url });
      sweep.push({ clients, tps: pgbenchTps(stdout) });
    }
    const best = sweep.reduce((a, b) => (b.tps > a.tps ? b : a));
    return { scale: options.scale, seconds, sweep, clients: best.clients, tps: best.tps };
  } finally {
    await dropDatabase(databaseUrl, database);
  }
}
