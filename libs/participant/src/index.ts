export * from './participant.module';
export * from './participant.options';
export * from './command-consumer';
export * from './barrier-rules';
