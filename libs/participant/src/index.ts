export * from './participant.module';
export * from './participant.options';
export * from './command-parser';
export * from './command-consumer';
