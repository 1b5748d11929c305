export * from './phases';
export * from './messages';
export * from './topics';
export * from './schemas';
export * from './parse';
