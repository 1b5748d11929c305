export * from './ordo-starts';
export * from './ordo-starts.module';
export * from './starts.migration';
