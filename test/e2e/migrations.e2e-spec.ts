import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { REPO_ROOT } from '../../tools/infra/paths';
import { runAppToExit, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * Migrations apart from start, with the roles docker-compose.yml sets up: `npm run migrate`
 * under the schema's owner role, then the app with MIGRATE_ON_START=false under a runtime
 * role that cannot change a table. The roles come from docker/postgres-init/10-roles.sql
 * itself, run here for one app under names of this run's own (roles are cluster-wide).
 */
describe('migrations apart from start', () => {
  const env = testEnv();
  const app = `mig_${randomBytes(3).toString('hex')}`;
  const schema = `${app}_orders`;
  const [owner, runtime] = [`${app}_owner`, `${app}_runtime`];
  const admin = new Client({ connectionString: env.databaseUrl });
  const urlAs = (role: string) => {
    const url = new URL(env.databaseUrl);
    url.username = role;
    url.password = role;
    return url.toString();
  };

  /** `npm run migrate` (its built entry point) with `env` over the run's database. */
  function migrate(args: string[], extra: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/tools/migrate/cli.js'), ...args], {
      env: { ...process.env, DATABASE_URL: env.databaseUrl, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
  }

  beforeAll(async () => {
    await admin.connect();
    const roles = readFileSync(join(REPO_ROOT, 'docker/postgres-init/10-roles.sql'), 'utf8');
    const ours = roles.replace(/\(VALUES \('coordinator'.*\)\)$/m, `(VALUES ('${app}', '${schema}'))`);
    expect(ours).not.toBe(roles);
    await admin.query(ours);
  });

  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`DROP OWNED BY ${owner}, ${runtime}`);
    await admin.query(`DROP ROLE IF EXISTS ${owner}`);
    await admin.query(`DROP ROLE IF EXISTS ${runtime}`);
    await admin.end();
  });

  it('refuses to start an app without MIGRATE_ON_START while migrations are missing, naming them', async () => {
    const { code, stderr } = await runAppToExit('order', {
      DATABASE_URL: urlAs(runtime),
      DATABASE_SCHEMA: schema,
      KAFKA_BROKERS: env.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: `${env.topicPrefix}migrations.`,
      MIGRATE_ON_START: 'false',
    });
    expect(code).toBe(1);
    expect(stderr).toContain(
      `schema ${schema} lacks migrations OrdoBarrier1763700000000, OrdoFaultCrash1763700000001, Orders1763800000000, OrdoStarts1766000000000, OrdersPlacedHere1766000000100`,
    );
    expect(stderr).toContain('run `npm run migrate` first');
  });

  it('migrates under the owner role; the app then runs under the runtime role, which cannot change a table', async () => {
    const first = await migrate(['order'], { DATABASE_URL: urlAs(owner), DATABASE_SCHEMA: schema });
    expect(first).toEqual({
      code: 0,
      output: `[migrate] order (schema ${schema}): applied OrdoBarrier1763700000000, OrdoFaultCrash1763700000001, Orders1763800000000, OrdoStarts1766000000000, OrdersPlacedHere1766000000100, OrderIdempotencyKeys1766200000000\n`,
    });
    const again = await migrate(['order'], { DATABASE_URL: urlAs(owner), DATABASE_SCHEMA: schema });
    expect(again).toEqual({ code: 0, output: `[migrate] order (schema ${schema}): up to date\n` });

    const order = await startApp('order', {
      DATABASE_URL: urlAs(runtime),
      DATABASE_SCHEMA: schema,
      KAFKA_TOPIC_PREFIX: `${env.topicPrefix}migrations.`,
      MIGRATE_ON_START: 'false',
    });
    const orders = await fetch(`${order.url}/api/v1/orders`);
    expect(orders.status).toBe(200);

    const asRuntime = new Client({ connectionString: urlAs(runtime) });
    await asRuntime.connect();
    try {
      await asRuntime.query(`SET search_path = ${schema}`);
      await expect(asRuntime.query('CREATE TABLE sneaky (id int)')).rejects.toThrow(/permission denied for schema/);
      await expect(asRuntime.query('ALTER TABLE orders ADD COLUMN sneaky int')).rejects.toThrow(/must be owner of table orders/);
      await expect(asRuntime.query('TRUNCATE orders')).rejects.toThrow(/permission denied for table orders/);
      expect((await asRuntime.query('SELECT count(*)::int AS n FROM migrations')).rows).toEqual([{ n: 6 }]);
    } finally {
      await asRuntime.end();
    }
  });

  it('migrates every app at once, and refuses arguments it cannot follow', async () => {
    // The run's default schemas, which the other files' apps migrated at their start already.
    const all = await migrate([], {});
    expect(all.code).toBe(0);
    expect(all.output.trim().split('\n')).toEqual([
      expect.stringMatching(/^\[migrate\] coordinator \(schema ordo\): /),
      expect.stringMatching(/^\[migrate\] order \(schema orders\): /),
      expect.stringMatching(/^\[migrate\] inventory \(schema inventory\): /),
      expect.stringMatching(/^\[migrate\] payment \(schema payment\): /),
    ]);
    expect(await migrate(['shop'], {})).toEqual({ code: 2, output: 'usage: npm run migrate [-- coordinator|order|inventory|payment]\n' });
    expect((await migrate([], { DATABASE_SCHEMA: 'orders' })).code).toBe(2);
    const unreachable = await migrate(['order'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', DATABASE_CONNECT_TIMEOUT_MS: '1000' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.output).toMatch(/^\[migrate\] .*ECONNREFUSED/);
  });
});
