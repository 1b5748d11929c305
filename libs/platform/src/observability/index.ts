export * from './bounded-label';
export * from './metrics.module';
export * from './observability.module';
export * from './tracing';
