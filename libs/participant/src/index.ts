export * from './participant.module';
export * from './participant.options';
export * from './command-consumer';
