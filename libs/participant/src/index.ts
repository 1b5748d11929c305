export * from './participant.module';
export * from './participant.options';
export * from './command-consumer';
export * from './barrier-rules';
export * from './barrier.migration';
export * from './handler.decorators';
export * from './failures';
