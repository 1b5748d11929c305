import { createHash } from 'crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chownSync, lstatSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { InfraError, isAlive, run, runOrFail, portOpen } from './proc';

/**
 * A private PostgreSQL cluster built from the machine's PostgreSQL binaries (initdb +
 * pg_ctl) in a folder of its own. PostgreSQL refuses to run as root, so as root the
 * cluster belongs to the `postgres` system user.
 */
export interface PostgresOptions {
  dir: string;
  port: number;
  log?: (line: string) => void;
}

export const PG_USER = 'ordo';
export const PG_DATABASE = 'ordo';

export function postgresUrl(port: number, database = PG_DATABASE): string {
  return `postgres://${PG_USER}@127.0.0.1:${port}/${database}`;
}

export function findPgBin(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return fromEnv;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new InfraError('PostgreSQL server binaries (initdb, pg_ctl) not found: install the postgresql package or set DATABASE_URL');
  }
  return join(base, versions[0], 'bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the cluster's owner. */
function pgCommand(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

async function canOwnerReach(path: string): Promise<boolean> {
  if (!asRoot) return true;
  return (await run('runuser', ['-u', 'postgres', '--', 'test', '-w', path])).code === 0;
}

/**
 * The data folder. When the checkout lies where the postgres user cannot write (a clone
 * under /root, say), the data lives in a private temp folder and .ordo links to it.
 */
async function dataDir(options: PostgresOptions): Promise<string> {
  const home = join(options.dir, 'data');
  mkdirSync(options.dir, { recursive: true });
  if (asRoot) chownPostgres(options.dir);
  if (await canOwnerReach(options.dir)) return home;
  const outside = join(tmpdir(), `ordo-pg-${createHash('sha1').update(options.dir).digest('hex').slice(0, 10)}`);
  mkdirSync(outside, { recursive: true, mode: 0o700 });
  chownPostgres(outside);
  if (!existsSync(home) || !lstatSync(home).isSymbolicLink()) {
    rmSync(home, { recursive: true, force: true });
    symlinkSync(outside, home);
  }
  return outside;
}

function chownPostgres(path: string) {
  const { uid, gid } = postgresIds();
  chownSync(path, uid, gid);
}

let ids: { uid: number; gid: number } | undefined;
function postgresIds() {
  if (!ids) {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    if (!line) throw new InfraError('running as root needs the `postgres` system user (from the postgresql package)');
    const [, , uid, gid] = line.split(':');
    ids = { uid: Number(uid), gid: Number(gid) };
  }
  return ids;
}

const CONFIG = (port: number) => `
# Written by Ordo's local infrastructure (tools/infra/postgres.ts).
port = ${port}
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_prepared_transactions = 100
shared_buffers = 256MB
wal_level = replica
log_min_messages = warning
`;

/**
 * Settings that need a restart. max_connections: the bench's SQL floor runs pgbench with up
 * to 256 clients while the apps keep their pools open. pg_stat_statements (shipped with Debian's
 * postgresql package): the bench counts each app's statements with it, utility statements
 * (BEGIN, COMMIT, SAVEPOINT) included; `max` is raised because every 2PC gid is a statement
 * text of its own.
 */
const SERVER_OPTIONS = [
  'max_connections=400',
  'shared_preload_libraries=pg_stat_statements',
  'pg_stat_statements.track_utility=on',
  'pg_stat_statements.max=20000',
]
  .map((setting) => `-c ${setting}`)
  .join(' ');

/** Whether a data folder holds a complete cluster of this PostgreSQL major version. */
function usableCluster(data: string, bin: string): boolean {
  const versionFile = join(data, 'PG_VERSION');
  if (!existsSync(versionFile) || !existsSync(join(data, 'postgresql.conf'))) return false;
  const major = readFileSync(versionFile, 'utf8').trim();
  return bin.includes(`/${major}/`) || !bin.startsWith('/usr/lib/postgresql');
}

/**
 * Whether the cluster's postmaster runs. A postmaster.pid left by a killed server is
 * removed here: PostgreSQL's own check (kill(pid, 0)) would take a zombie for a live server.
 */
export function postgresRunning(options: PostgresOptions): boolean {
  const pidFile = join(options.dir, 'data', 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return true;
  rmSync(pidFile, { force: true });
  return false;
}

/** Starts the cluster unless it runs already. Returns whether this call started it. */
export async function startPostgres(options: PostgresOptions): Promise<boolean> {
  const log = options.log ?? (() => undefined);
  const bin = findPgBin();
  const data = await dataDir(options);
  if (postgresRunning(options)) {
    log(`PostgreSQL already running on port ${options.port}; reusing it`);
    return false;
  }
  if (await portOpen(options.port)) {
    throw new InfraError(`port ${options.port} is taken by another process: set ORDO_PG_PORT to a free port`);
  }
  if (existsSync(data) && !usableCluster(data, bin)) {
    log(`PostgreSQL data folder ${data} is incomplete or from another version; re-creating it`);
    for (const entry of readdirSync(data)) rmSync(join(data, entry), { recursive: true, force: true });
  }
  if (!usableCluster(data, bin)) {
    mkdirSync(data, { recursive: true, mode: 0o700 });
    if (asRoot) chownPostgres(data);
    const [cmd, args] = pgCommand(join(bin, 'initdb'), ['-D', data, '-U', PG_USER, '--auth=trust', '-E', 'UTF8', '--locale=C']);
    await runOrFail('initdb', cmd, args);
    writeFileSync(join(data, 'postgresql.auto.conf'), CONFIG(options.port));
    if (asRoot) chownPostgres(join(data, 'postgresql.auto.conf'));
  }
  const logFile = join(options.dir, 'postgres.log');
  if (asRoot && !existsSync(logFile)) {
    writeFileSync(logFile, '');
    chownPostgres(logFile);
  }
  // -o overrides the port so ORDO_PG_PORT can change between runs, and the settings below so
  // a cluster made by an older version gets them too.
  const [cmd, args] = pgCommand(join(bin, 'pg_ctl'), [
    'start',
    '-D',
    data,
    '-l',
    logFile,
    '-w',
    '-t',
    '120',
    '-o',
    `-p ${options.port} ${SERVER_OPTIONS}`,
  ]);
  const started = await run(cmd, args);
  if (started.code !== 0) {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : started.stderr;
    throw new InfraError(`PostgreSQL did not start (see ${logFile}): ${tail}`);
  }
  await ensureDatabase(options.port, PG_DATABASE);
  log(`PostgreSQL started on port ${options.port} (data: ${data})`);
  return true;
}

export async function stopPostgres(options: PostgresOptions): Promise<void> {
  if (!postgresRunning(options)) return;
  const [cmd, args] = pgCommand(join(findPgBin(), 'pg_ctl'), ['stop', '-D', join(options.dir, 'data'), '-m', 'fast', '-w', '-t', '60']);
  await runOrFail('pg_ctl stop', cmd, args);
}

/** Stops the cluster at once, without a shutdown checkpoint, as a crash would (chaos runs). */
export async function crashPostgres(options: PostgresOptions): Promise<void> {
  const [cmd, args] = pgCommand(join(findPgBin(), 'pg_ctl'), ['stop', '-D', join(options.dir, 'data'), '-m', 'immediate', '-w', '-t', '60']);
  await runOrFail('pg_ctl stop -m immediate', cmd, args);
}

/**
 * Sends `signal` to every process of the cluster, the postmaster first (stopped, it forks no
 * new backend meanwhile): SIGSTOP freezes the whole server as an overloaded or stalled host
 * would, keeping every connection open; SIGCONT resumes it.
 */
export function signalPostgres(options: PostgresOptions, signal: 'SIGSTOP' | 'SIGCONT'): number {
  const postmaster = Number(readFileSync(join(options.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  // Field 4 of /proc/<pid>/stat is the parent; field 2, the name, is in parentheses and may hold spaces.
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false; // ended meanwhile
      }
    })
    .map(Number);
  for (const pid of [postmaster, ...children]) process.kill(pid, signal);
  return 1 + children.length;
}

/** Creates a database on the cluster at `url`'s server unless it exists. */
export async function ensureDatabase(portOrUrl: number | string, database: string): Promise<void> {
  const url = typeof portOrUrl === 'number' ? postgresUrl(portOrUrl, 'postgres') : withDatabase(portOrUrl, 'postgres');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * Drops a database, rolling back the prepared transactions left in it first (a participant
 * killed in doubt leaves some; PostgreSQL refuses to drop a database that has any).
 */
export async function dropDatabase(url: string, database: string): Promise<void> {
  const own = new Client({ connectionString: withDatabase(url, database) });
  try {
    await own.connect();
    const { rows } = await own.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE database = current_database()');
    // ROLLBACK PREPARED takes no parameters and must run in the transaction's own database.
    for (const { gid } of rows) await own.query(`ROLLBACK PREPARED '${gid.replace(/'/g, "''")}'`);
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // invalid_catalog_name: no such database
  } finally {
    await own.end();
  }
  const client = new Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
