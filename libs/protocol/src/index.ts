export * from './phases';
export * from './messages';
export * from './topics';
export * from './schemas';
export * from './parse';
export * from './reply-limits';
export * from './json-limits';
export * from './dead-letters';
