import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions, DatabaseOptions } from './data-source-options';
import { migrate, pendingMigrations } from './migrations';

/**
 * TypeORM on the app's schema. With MIGRATE_ON_START the app migrates it first; without,
 * it refuses to start while a migration is missing, naming them.
 */
@Module({})
export class DatabaseModule {
  static forApp(name: string, options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: async (configService: ConfigService) => {
            const config = configService.get<AppConfig>('app')!;
            if (config.MIGRATE_ON_START) {
              const applied = await migrate(config, options);
              if (applied.length > 0) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
            }
            return dataSourceOptions(config, { ...options, applicationName: `ordo-${name}` });
          },
          dataSourceFactory: async (dsOptions) => {
            const dataSource = await new DataSource(dsOptions!).initialize();
            const pending = await pendingMigrations(dataSource);
            if (pending.length > 0) {
              await dataSource.destroy();
              const schema = (dsOptions as { schema: string }).schema;
              throw new Error(
                `schema ${schema} lacks migrations ${pending.join(', ')}: run \`npm run migrate\` first, or start with MIGRATE_ON_START=true`,
              );
            }
            return dataSource;
          },
        }),
      ],
    };
  }
}
