import { setTimeout as sleep } from 'timers/promises';
import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions, MixedList, EntitySchema } from 'typeorm';
import { AppConfig } from '../config/app-config';

export interface DatabaseOptions {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
}

export function dataSourceOptions(config: AppConfig, options: DatabaseOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    entities: options.entities ?? [],
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    // Every connection resolves unqualified names in the app's schema, so raw SQL and
    // migrations need no schema prefix.
    extra: { max: config.DATABASE_POOL_SIZE, options: `-c search_path=${config.DATABASE_SCHEMA}` },
  };
}

const MIGRATION_LOCK_POLL_MS = 200;

/**
 * Creates the schema and applies pending migrations. A session-level advisory lock keeps
 * several instances starting at once from racing each other. It is polled, not waited for:
 * a statement blocked on the lock keeps a snapshot open, and the holder's
 * CREATE INDEX CONCURRENTLY waits for every open snapshot — the two would wait forever.
 */
export async function migrate(dataSource: DataSource, schema: string): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const key = `ordo-migrations:${schema}`;
    while (!(await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key]))[0].locked) await sleep(MIGRATION_LOCK_POLL_MS);
    await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length > 0) new Logger('Database').log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
  } finally {
    await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`ordo-migrations:${schema}`]).catch(() => undefined);
    await runner.release();
  }
}

/** TypeORM on the app's schema, migrated before anything can use it. */
@Module({})
export class DatabaseModule {
  static forApp(options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService) => dataSourceOptions(config.get<AppConfig>('app')!, options),
          dataSourceFactory: async (dsOptions) => {
            const dataSource = await new DataSource(dsOptions!).initialize();
            await migrate(dataSource, (dsOptions as { schema: string }).schema);
            return dataSource;
          },
        }),
      ],
    };
  }
}
