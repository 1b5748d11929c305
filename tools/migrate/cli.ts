import { ConfigError, DatabaseConfig, DatabaseOptions, migrate, validateConfig } from '@ordo/platform';
import { coordinatorMigrations } from '../../migrations/coordinator';
import { inventoryMigrations } from '../../migrations/inventory';
import { orderMigrations } from '../../migrations/order';
import { paymentMigrations } from '../../migrations/payment';
import { localOptions } from '../infra/infra';
import { postgresUrl } from '../infra/postgres';
import { APPS, AppName } from '../launcher/apps';

const MIGRATIONS: Record<AppName, DatabaseOptions['migrations']> = {
  coordinator: coordinatorMigrations,
  order: orderMigrations,
  inventory: inventoryMigrations,
  payment: paymentMigrations,
};

const USAGE = `usage: npm run migrate [-- ${APPS.map((a) => a.name).join('|')}]`;

/**
 * `npm run migrate [-- <app>]`: applies the pending migrations of every app (or of one),
 * each to its schema, then exits. Run it under a role allowed DDL, and the apps with
 * MIGRATE_ON_START=false under one that is not. DATABASE_URL defaults to the local cluster
 * (`npm run infra -- start`); DATABASE_SCHEMA, the app's own schema, may be set for one app only.
 */
async function main(args: string[]): Promise<number> {
  const [only, ...extra] = args;
  if (extra.length > 0 || (only !== undefined && !APPS.some((app) => app.name === only))) {
    console.error(USAGE);
    return 2;
  }
  if (only === undefined && process.env.DATABASE_SCHEMA) {
    console.error(`[migrate] DATABASE_SCHEMA is one app's schema: name the app (${USAGE})`);
    return 2;
  }
  for (const app of APPS.filter((a) => only === undefined || a.name === only)) {
    const config = validateConfig(DatabaseConfig, {
      // The local cluster's, unless given either way.
      ...(process.env.DATABASE_URL_FILE ? {} : { DATABASE_URL: postgresUrl(localOptions().postgres.port) }),
      DATABASE_SCHEMA: app.schema,
      ...process.env,
    });
    const applied = await migrate(config, { migrations: MIGRATIONS[app.name] });
    console.log(`[migrate] ${app.name} (schema ${config.DATABASE_SCHEMA}): ${applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date'}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`[migrate] ${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
