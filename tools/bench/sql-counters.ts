import { Client } from 'pg';
import { dropDatabase, ensureDatabase, withDatabase } from '../infra/postgres';
import { sleep } from '../infra/proc';

/**
 * Who sends which SQL: each app runs as a database role of its own on a database of its own.
 * pg_stat_statements keys statements by role, so the roles split the statements; a commit
 * is not a statement (an autocommit statement commits too), so commits come from each
 * database's pg_stat_database.xact_commit. The bench harness reads the coordinator's
 * database as a role of its own, and its statements (all autocommit) are taken out of both.
 */

export interface AppDatabase {
  role: string;
  database: string;
  url: string;
}

export interface AppDatabases<App extends string> {
  apps: Record<App, AppDatabase>;
  /** The harness's role, connected to `harnessDatabase`'s database. */
  harness: AppDatabase;
  /** A database of the bench's own, holding the pg_stat_statements views; its queries count nowhere. */
  stats: AppDatabase;
  drop(): Promise<void>;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

function withUser(url: string, role: string): string {
  const parsed = new URL(url);
  parsed.username = role;
  parsed.password = '';
  return parsed.toString();
}

/**
 * Creates, on the cluster at `adminUrl` (a superuser's), a login role and a database it owns
 * for each app, named `${base}_${app}`, and a harness role that may read them all. The
 * cluster must trust local logins, as the local one does.
 */
export async function createAppDatabases<App extends string>(
  adminUrl: string,
  base: string,
  apps: readonly App[],
  harnessDatabase: App,
): Promise<AppDatabases<App>> {
  const admin = new Client({ connectionString: withDatabase(adminUrl, 'postgres') });
  await admin.connect();
  const created: { roles: string[]; databases: string[] } = { roles: [], databases: [] };
  const drop = async () => {
    for (const database of created.databases) await dropDatabase(adminUrl, database);
    const client = new Client({ connectionString: withDatabase(adminUrl, 'postgres') });
    await client.connect();
    try {
      for (const role of created.roles) await client.query(`DROP ROLE IF EXISTS ${quote(role)}`);
    } finally {
      await client.end();
    }
  };
  try {
    const own = async (name: string, owner: string) => {
      await admin.query(`CREATE ROLE ${quote(owner)} LOGIN`);
      created.roles.push(owner);
      await admin.query(`CREATE DATABASE ${quote(name)} OWNER ${quote(owner)}`);
      created.databases.push(name);
      return { role: owner, database: name, url: withUser(withDatabase(adminUrl, name), owner) };
    };
    const entries: [App, AppDatabase][] = [];
    for (const app of apps) entries.push([app, await own(`${base}_${app}`, `${base}_${app}`)]);
    const byApp = Object.fromEntries(entries) as Record<App, AppDatabase>;
    const harnessRole = `${base}_harness`;
    await admin.query(`CREATE ROLE ${quote(harnessRole)} LOGIN IN ROLE pg_read_all_data`);
    created.roles.push(harnessRole);
    const target = byApp[harnessDatabase];
    const harness = { role: harnessRole, database: target.database, url: withUser(withDatabase(adminUrl, target.database), harnessRole) };
    const statsDatabase = `${base}_stats`;
    await ensureDatabase(adminUrl, statsDatabase);
    created.databases.push(statsDatabase);
    const stats = { role: new URL(adminUrl).username, database: statsDatabase, url: withDatabase(adminUrl, statsDatabase) };
    return { apps: byApp, harness, stats, drop };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  } finally {
    await admin.end();
  }
}

/** One statement text (normalised by pg_stat_statements) and what it cost per transaction of the workload. */
export interface TopStatement {
  query: string;
  callsPerTx: number;
  meanMs: number;
}

export interface AppSql {
  /** Statements per finished transaction, utility statements (BEGIN, COMMIT, SAVEPOINT …) included. */
  statementsPerTx: number;
  /** Database commits per finished transaction, read-only and autocommit ones included. */
  commitsPerTx: number;
  /** The most frequent statements. */
  top: TopStatement[];
}

export interface SqlCounts {
  apps: Record<string, AppSql>;
  /** How long the commit counters were left to settle after the work (see SETTLE_MS). */
  settleMs: number;
}

/**
 * A backend publishes its commit counts to pg_stat_database at most once a second while busy,
 * and an idle one up to 10 s later (PostgreSQL's PGSTAT_IDLE_INTERVAL): before each reading
 * of xact_commit the bench waits this long with no load, so every commit of the work is in.
 */
const SETTLE_MS = 10_500;
const TOP_STATEMENTS = 12;

/** pg_stat_statements and pg_stat_database readings around a piece of work, by app. */
export class SqlCounters<App extends string> {
  private constructor(
    private readonly db: Client,
    private readonly databases: AppDatabases<App>,
  ) {}

  /** Fails when pg_stat_statements is not loaded (shared_preload_libraries), which only a restart fixes. */
  static async open<App extends string>(databases: AppDatabases<App>): Promise<SqlCounters<App>> {
    const db = new Client({ connectionString: databases.stats.url });
    await db.connect();
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      const { rows } = await db.query<{ utility: string }>(`SELECT current_setting('pg_stat_statements.track_utility') AS utility`);
      if (rows[0].utility !== 'on') throw new Error('pg_stat_statements.track_utility is off: BEGIN and COMMIT would not be counted');
      await db.query('SELECT 1 FROM pg_stat_statements LIMIT 1');
    } catch (error) {
      await db.end();
      throw new Error(
        `the bench counts statements with pg_stat_statements: ${(error as Error).message}. The local cluster loads it ` +
          `(tools/infra/postgres.ts) from its next start: stop it (npm run infra -- stop) and run again; an external ` +
          `DATABASE_URL needs shared_preload_libraries = 'pg_stat_statements'`,
      );
    }
    return new SqlCounters(db, databases);
  }

  /** Waits until the commits of work done so far are all in pg_stat_database. */
  async settle(): Promise<void> {
    await sleep(SETTLE_MS);
  }

  /**
   * Runs `work` and returns its statements and commits per finished transaction (`count`), by
   * app. Statements are counted from just before to just after the work, commits until
   * SETTLE_MS after it, so those include the apps' background polling of that time. Expects
   * no load on the apps since the last settle (or measure).
   */
  async measure<T extends { count: number }>(work: () => Promise<T>): Promise<T & { sql: SqlCounts }> {
    const before = await this.commits();
    await this.db.query('SELECT pg_stat_statements_reset()');
    const result = await work();
    const statements = await this.statements();
    await this.settle();
    const after = await this.commits();
    const perTx = (n: number) => n / Math.max(1, result.count);
    const apps = Object.fromEntries(
      Object.entries<AppDatabase>(this.databases.apps).map(([app, { role, database }]) => {
        const own = statements.filter((s) => s.role === role);
        // The harness's queries in this database each committed on their own.
        const harness = statements.filter((s) => s.role === this.databases.harness.role && s.database === database);
        const commits = (after.get(database) ?? 0) - (before.get(database) ?? 0) - harness.reduce((sum, s) => sum + s.calls, 0);
        const top = own.slice(0, TOP_STATEMENTS).map((s) => ({ query: s.query, callsPerTx: perTx(s.calls), meanMs: s.meanMs }));
        return [app, { statementsPerTx: perTx(own.reduce((sum, s) => sum + s.calls, 0)), commitsPerTx: perTx(commits), top }];
      }),
    );
    return { ...result, sql: { apps, settleMs: SETTLE_MS } };
  }

  async close(): Promise<void> {
    await this.db.end();
  }

  private async commits(): Promise<Map<string, number>> {
    // The snapshot is per transaction: outside one, each query reads fresh counters.
    const { rows } = await this.db.query<{ datname: string; commits: string }>(
      'SELECT datname, xact_commit AS commits FROM pg_stat_database WHERE datname = ANY($1)',
      [Object.values<AppDatabase>(this.databases.apps).map((a) => a.database)],
    );
    return new Map(rows.map((r) => [r.datname, Number(r.commits)]));
  }

  /** The statements of the apps' and the harness's roles since the reset, most called first. */
  private async statements() {
    const roles = [...Object.values<AppDatabase>(this.databases.apps), this.databases.harness].map((a) => a.role);
    const { rows } = await this.db.query<{ role: string; database: string; query: string; calls: string; mean_ms: number }>(
      `SELECT r.rolname AS role, d.datname AS database, regexp_replace(s.query, '\\s+', ' ', 'g') AS query, s.calls,
          s.mean_exec_time AS mean_ms
        FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
        WHERE r.rolname = ANY($1) ORDER BY s.calls DESC, s.total_exec_time DESC`,
      [roles],
    );
    return rows.map((r) => ({ role: r.role, database: r.database, query: r.query.slice(0, 200), calls: Number(r.calls), meanMs: r.mean_ms }));
  }
}
