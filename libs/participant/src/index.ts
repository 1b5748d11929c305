export * from './participant.module';
export * from './participant.options';
export * from './command-consumer';
export * from './barrier-rules';
export * from './barrier.migration';
export * from './handler.decorators';
export * from './failures';
export * from './participant.config';
export * from './handler-input';
export * from './failure-injection';
export * from './prepared-transactions';
export * from './in-doubt-recovery';
export * from './sql-barrier';
export * from './starts';
// The service shell a participant app stands on (validated settings, PostgreSQL with
// migrations, Kafka, health, metrics, logs, traces), so a team installs one package.
export { AppConfig, bootstrap, PlatformModule, runPreparedIn } from '@ordo/platform';
export type { BootstrapOptions, DatabaseOptions, PlatformOptions, PreparedStatement } from '@ordo/platform';
